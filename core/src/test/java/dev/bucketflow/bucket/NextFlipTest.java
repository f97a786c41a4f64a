package dev.bucketflow.bucket;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.any;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NextFlipTest {
  static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");
  static final Duration D7 = Duration.ofDays(7);
  static final Duration D30 = Duration.ofDays(30);

  /** A user who did {@code name} at each of the given hours before now. */
  static UserState did(String name, long... hoursAgo) {
    UserState s = UserState.empty();
    for (long h : hoursAgo) {
      s.recordEvent(name, NOW.minus(Duration.ofHours(h)));
    }
    return s;
  }

  static Instant hoursAgo(long h) {
    return NOW.minus(Duration.ofHours(h));
  }

  @Test
  void windowedExistsFlipsWhenTheNewestAgesOut() {
    UserState s = did("e", 5, 30, 100);
    assertThat(NextFlip.deadline(event("e").within(D7).exists(), s, NOW))
        .contains(hoursAgo(5).plus(D7));
    assertThat(NextFlip.deadline(event("e").within(D7).count(), s, NOW))
        .contains(hoursAgo(5).plus(D7));
  }

  @Test
  void countGteNFlipsWhenTheNthNewestAgesOut() {
    UserState s = did("e", 1, 2, 3, 4, 5);
    Criterion c = event("e").within(D30).atLeast(3);
    Instant deadline = NextFlip.deadline(c, s, NOW).orElseThrow();
    assertThat(deadline).isEqualTo(hoursAgo(3).plus(D30));
    // Exactness: true just before, false at the deadline, with no new events.
    assertThat(Evaluator.matches(c, s, deadline.minusNanos(1))).isTrue();
    assertThat(Evaluator.matches(c, s, deadline)).isFalse();
  }

  @Test
  void countGtAndEq() {
    UserState s = did("e", 1, 2, 3, 4, 5);
    assertThat(NextFlip.deadline(event("e").within(D7).count(CountOperator.GT, 3), s, NOW))
        .contains(hoursAgo(4).plus(D7));
    UserState three = did("e", 1, 2, 3);
    Criterion eq3 = event("e").within(D7).count(CountOperator.EQ, 3);
    Instant deadline = NextFlip.deadline(eq3, three, NOW).orElseThrow();
    assertThat(deadline).isEqualTo(hoursAgo(3).plus(D7));
    assertThat(Evaluator.matches(eq3, three, deadline)).isFalse();
    assertThat(
            NextFlip.deadline(
                event("e").within(D7).count(CountOperator.EQ, 0), UserState.empty(), NOW))
        .isEmpty();
  }

  @Test
  void legsThatDecayOnlyTowardsTrueNeverFlip() {
    UserState s = did("e", 1);
    assertThat(NextFlip.deadline(event("e").within(D7).count(CountOperator.LT, 3), s, NOW))
        .isEmpty();
    assertThat(NextFlip.deadline(event("e").within(D7).count(CountOperator.LTE, 3), s, NOW))
        .isEmpty();
    assertThat(NextFlip.deadline(event("f").within(D7).notExists(), s, NOW)).isEmpty();
    assertThat(NextFlip.deadline(event("e").exists(), s, NOW)).as("all time").isEmpty();
    assertThat(NextFlip.deadline(event("e").atLeast(1), s, NOW)).as("all time").isEmpty();
    UserState p = new UserState(JsonNodeFactory.instance.objectNode().put("plan", "pro"), null);
    assertThat(NextFlip.deadline(prop("plan").eq("pro"), p, NOW)).isEmpty();
  }

  @Test
  void andTakesTheEarliestLeg() {
    UserState s = did("a", 2);
    s.recordEvent("b", hoursAgo(10));
    Criterion c =
        all(event("a").within(D7).exists(), event("b").within(D7).exists(), event("a").exists());
    assertThat(NextFlip.deadline(c, s, NOW)).contains(hoursAgo(10).plus(D7));
  }

  @Test
  void wentDormantNeverFlipsByTheClock() {
    UserState s = did("app.active", 24 * 10);
    Criterion c = all(event("app.active").exists(), event("app.active").within(D7).notExists());
    assertThat(Evaluator.matches(c, s, NOW)).isTrue();
    assertThat(NextFlip.deadline(c, s, NOW)).isEmpty();
  }

  @Test
  void orTakesTheLatestTrueLegOrNever() {
    UserState s = did("a", 2);
    s.recordEvent("b", hoursAgo(10));
    Criterion both = any(event("a").within(D7).exists(), event("b").within(D7).exists());
    assertThat(NextFlip.deadline(both, s, NOW)).contains(hoursAgo(2).plus(D7));
    // A false leg does not count, even one with a later potential deadline.
    Criterion withFalseLeg = any(event("b").within(D7).exists(), event("c").within(D30).exists());
    assertThat(NextFlip.deadline(withFalseLeg, s, NOW)).contains(hoursAgo(10).plus(D7));
    // A true leg that never flips keeps the OR true forever.
    Criterion withForever = any(event("a").within(D7).exists(), event("b").exists());
    assertThat(NextFlip.deadline(withForever, s, NOW)).isEmpty();
  }

  /**
   * For random series, a windowed count gte N is true right before its deadline and false at it.
   */
  @Test
  void countDeadlineIsExact() {
    Random random = new Random(7);
    for (int round = 0; round < 1000; round++) {
      UserState s = UserState.empty();
      int events = 1 + random.nextInt(20);
      for (int i = 0; i < events; i++) {
        s.recordEvent("e", hoursAgo(random.nextInt(201)));
      }
      Criterion c = event("e").within(D7).atLeast(1 + random.nextInt(6));
      if (!Evaluator.matches(c, s, NOW)) {
        continue;
      }
      Instant deadline = NextFlip.deadline(c, s, NOW).orElseThrow();
      assertThat(Evaluator.matches(c, s, deadline.minusNanos(1))).isTrue();
      assertThat(Evaluator.matches(c, s, deadline)).isFalse();
    }
  }
}
