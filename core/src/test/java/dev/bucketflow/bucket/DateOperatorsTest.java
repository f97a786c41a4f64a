package dev.bucketflow.bucket;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.any;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Date-relative operators, in / not_in, their validation, and exact next-flip instants (issue 12
 * item 1).
 */
class DateOperatorsTest {
  static final JsonNodeFactory F = JsonNodeFactory.instance;
  static final Instant NOW = Instant.parse("2026-11-26T12:00:00.123456Z");
  static final Duration D3 = Duration.ofDays(3);

  static UserState with(String key, JsonNode value) {
    ObjectNode p = F.objectNode();
    p.set(key, value);
    return new UserState(p, null);
  }

  static UserState at(Instant t) {
    return with("t", F.textNode(t.toString()));
  }

  @Test
  void instantsAreReadFromStrictIsoStringsAndIntegralEpochMillis() {
    assertThat(PropertyInstants.read(F.textNode("2026-11-26T12:00:00Z")))
        .contains(Instant.parse("2026-11-26T12:00:00Z"));
    assertThat(PropertyInstants.read(F.textNode("2026-11-26T13:30:00+01:30")))
        .contains(Instant.parse("2026-11-26T12:00:00Z"));
    assertThat(PropertyInstants.read(F.textNode("2026-11-26T12:00:00.123456789Z")))
        .as("fraction truncated to microseconds")
        .contains(Instant.parse("2026-11-26T12:00:00.123456Z"));
    assertThat(PropertyInstants.read(F.numberNode(1_700_000_000_123L)))
        .contains(Instant.ofEpochMilli(1_700_000_000_123L));
    assertThat(PropertyInstants.read(F.numberNode(1.7e12)))
        .contains(Instant.ofEpochMilli(1_700_000_000_000L));
    for (String bad :
        List.of(
            "2026-02-30T00:00:00Z",
            "2026-11-26",
            "2026-11-26T12:00Z",
            "2026-11-26 12:00:00Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T12:00:60Z",
            "0000-01-01T00:00:00Z",
            "2026-11-26T12:00:00+15:00",
            "2026-11-26T12:00:00",
            " 2026-11-26T12:00:00Z",
            "2026-11-26t12:00:00z",
            "tomorrow")) {
      assertThat(PropertyInstants.read(F.textNode(bad))).as(bad).isEmpty();
    }
    assertThat(PropertyInstants.read(F.numberNode(1.5))).isEmpty();
    assertThat(PropertyInstants.read(F.numberNode(PropertyInstants.MAX_MILLIS + 1))).isEmpty();
    assertThat(PropertyInstants.read(F.booleanNode(true))).isEmpty();
    assertThat(PropertyInstants.read(F.nullNode())).isEmpty();
    assertThat(PropertyInstants.read(null)).isEmpty();
  }

  @Test
  void boundariesAreClosedForWithinAndOpenForMoreThan() {
    Criterion next = prop("t").withinNext(D3);
    assertThat(Evaluator.matches(next, at(NOW), NOW)).as("t = now").isTrue();
    assertThat(Evaluator.matches(next, at(NOW.plus(D3)), NOW)).as("t = now + d").isTrue();
    assertThat(Evaluator.matches(next, at(NOW.plus(D3).plusNanos(1000)), NOW)).isFalse();
    assertThat(Evaluator.matches(next, at(NOW.minusNanos(1000)), NOW)).as("past").isFalse();
    Criterion last = prop("t").withinLast(D3);
    assertThat(Evaluator.matches(last, at(NOW), NOW)).isTrue();
    assertThat(Evaluator.matches(last, at(NOW.minus(D3)), NOW)).isTrue();
    assertThat(Evaluator.matches(last, at(NOW.minus(D3).minusNanos(1000)), NOW)).isFalse();
    assertThat(Evaluator.matches(last, at(NOW.plusNanos(1000)), NOW)).as("future").isFalse();
    Criterion ago = prop("t").moreThanAgo(D3);
    assertThat(Evaluator.matches(ago, at(NOW.minus(D3)), NOW)).as("exactly d ago").isFalse();
    assertThat(Evaluator.matches(ago, at(NOW.minus(D3).minusNanos(1000)), NOW)).isTrue();
    Criterion ahead = prop("t").moreThanAhead(D3);
    assertThat(Evaluator.matches(ahead, at(NOW.plus(D3)), NOW)).as("exactly d ahead").isFalse();
    assertThat(Evaluator.matches(ahead, at(NOW.plus(D3).plusNanos(1000)), NOW)).isTrue();
    for (Criterion c : List.of(next, last, ago, ahead)) {
      assertThat(Evaluator.matches(c, UserState.empty(), NOW)).as("missing").isFalse();
      assertThat(Evaluator.matches(c, with("t", F.textNode("soon")), NOW))
          .as("unparsable")
          .isFalse();
    }
    // Epoch milliseconds read the same as the string.
    assertThat(
            Evaluator.matches(
                next, with("t", F.numberNode(NOW.plus(Duration.ofDays(1)).toEpochMilli())), NOW))
        .isTrue();
  }

  @Test
  void inAndNotIn() {
    Criterion in = prop("plan").in("trial", 3);
    Criterion notIn = prop("plan").notIn("trial", 3);
    assertThat(Evaluator.matches(in, with("plan", F.textNode("trial")), NOW)).isTrue();
    assertThat(Evaluator.matches(in, with("plan", F.numberNode(3.0)), NOW))
        .as("3 = 3.0 as eq")
        .isTrue();
    assertThat(Evaluator.matches(in, with("plan", F.textNode("3")), NOW))
        .as("type-strict")
        .isFalse();
    assertThat(Evaluator.matches(in, UserState.empty(), NOW)).isFalse();
    assertThat(Evaluator.matches(notIn, UserState.empty(), NOW))
        .as("missing: not_in holds, like neq")
        .isTrue();
    assertThat(Evaluator.matches(notIn, with("plan", F.textNode("pro")), NOW)).isTrue();
    assertThat(Evaluator.matches(notIn, with("plan", F.textNode("trial")), NOW)).isFalse();
  }

  @Test
  void durationSpellingsAreEqualAndValidationNamesTheField() {
    String json =
        """
            [{"id":"a","criteria":{"type":"property","property":"trial_ends_at","operator":"within_next","value":{"days":3}}},
             {"id":"b","criteria":{"type":"property","property":"trial_ends_at","operator":"within_next","value":"P3D"}}]""";
    LoadResult r = BucketJson.parse(json, "x");
    assertThat(r.problems()).isEmpty();
    assertThat(r.buckets().get(0).criteria())
        .isEqualTo(r.buckets().get(1).criteria())
        .isEqualTo(prop("trial_ends_at").withinNext(D3));
    assertThat(BucketValidator.validate(r.buckets())).isEmpty();
    assertThat(r.buckets().get(0).timeBased()).isTrue();
    assertThat(r.buckets().get(0).reconcilesJoins()).as("clock joins at the sweep").isTrue();

    List<BucketDefinition> bad =
        List.of(
            BucketDefinition.builder("d1")
                .criteria(
                    new PropertyCriterion("t", PropertyOperator.WITHIN_NEXT, F.textNode("3 days")))
                .build(),
            BucketDefinition.builder("d2")
                .criteria(new PropertyCriterion("t", PropertyOperator.MORE_THAN_AGO, null))
                .build(),
            BucketDefinition.builder("d3")
                .criteria(
                    all(
                        prop("t").exists(),
                        new PropertyCriterion("plan", PropertyOperator.IN, F.textNode("trial"))))
                .build(),
            BucketDefinition.builder("d4")
                .criteria(
                    new PropertyCriterion(
                        "t", PropertyOperator.WITHIN_LAST, F.objectNode().put("weeks", 1)))
                .build(),
            BucketDefinition.builder("d5").criteria(prop("plan").notIn("trial")).build());
    assertThat(BucketValidator.validate(bad))
        .extracting(Problem::path)
        .containsExactly(
            "d1.criteria.value",
            "d2.criteria.value",
            "d3.criteria.conditions[1].value",
            "d4.criteria.value",
            "d5.criteria");
  }

  @Test
  void fastExpiryIsAllowedWheneverTheClockCanMoveMembership() {
    assertThat(
            BucketValidator.validate(
                List.of(
                    BucketDefinition.builder("a")
                        .criteria(prop("t").withinNext(D3))
                        .fastExpiry(true)
                        .build(),
                    BucketDefinition.builder("b")
                        .criteria(prop("plan").eq("x"))
                        .maxDwell(D3)
                        .fastExpiry(true)
                        .build(),
                    BucketDefinition.builder("c")
                        .criteria(event("e").within(D3).exists())
                        .fastExpiry(true)
                        .build())))
        .isEmpty();
    assertThat(
            BucketValidator.validate(
                List.of(
                    BucketDefinition.builder("d")
                        .criteria(prop("plan").in("x"))
                        .fastExpiry(true)
                        .build())))
        .extracting(Problem::path)
        .containsExactly("d.fastExpiry");
  }

  @Test
  void joinInstantOfATrialEndingInFiveDays() {
    Instant ends = NOW.plus(Duration.ofDays(5));
    UserState s = at(ends);
    Criterion c = prop("t").withinNext(D3);
    assertThat(NextFlip.deadline(c, s, NOW)).isEmpty();
    Instant join = NextFlip.joinInstant(c, s, NOW).orElseThrow();
    assertThat(join).isEqualTo(ends.minus(D3));
    Instant leave = NextFlip.deadline(c, s, join).orElseThrow();
    assertThat(leave).isEqualTo(ends.plusNanos(1));
    assertThat(NextFlip.joinInstant(c, s, leave)).as("never again").isEmpty();
  }

  @Test
  void anOrWhoseFalseLegTurnsTrueFirstStaysTrue() {
    // a: true until NOW+1d; b: turns true at NOW+12h and stays until NOW+2d. Exact: NOW+2d+1ns.
    ObjectNode p = F.objectNode();
    p.put("a", NOW.plus(Duration.ofDays(1)).toString());
    p.put("b", NOW.plus(Duration.ofDays(2)).toString());
    UserState s = new UserState(p, null);
    Criterion c =
        any(prop("a").withinNext(Duration.ofDays(1)), prop("b").withinNext(Duration.ofHours(36)));
    assertThat(NextFlip.deadline(c, s, NOW)).contains(NOW.plus(Duration.ofDays(2)).plusNanos(1));
  }

  /**
   * Random trees over date legs, in/not_in and windowed event legs: the verdict is the current one
   * a millisecond (and a nanosecond) before the computed flip and differs at it; with no flip, it
   * is unchanged far ahead.
   */
  @Test
  void randomTreesFlipExactlyAtTheComputedInstant() {
    Random rnd = new Random(12);
    int flips = 0;
    int joins = 0;
    for (int round = 0; round < 3000; round++) {
      UserState s = randomState(rnd);
      Criterion c = randomTree(rnd, 0);
      boolean now = Evaluator.matches(c, s, NOW);
      Optional<Instant> flip = NextFlip.next(c, s, NOW);
      if (flip.isEmpty()) {
        assertThat(Evaluator.matches(c, s, NOW.plus(Duration.ofDays(400))))
            .as(BucketJson.toJson(c).toString())
            .isEqualTo(now);
        continue;
      }
      flips++;
      if (!now) joins++;
      Instant f = flip.get();
      assertThat(f).isAfter(NOW);
      Instant before = f.minusMillis(1).isAfter(NOW) ? f.minusMillis(1) : NOW;
      assertThat(Evaluator.matches(c, s, before))
          .as("1 ms before " + f + " " + BucketJson.toJson(c))
          .isEqualTo(now);
      assertThat(Evaluator.matches(c, s, f.minusNanos(1))).isEqualTo(now);
      assertThat(Evaluator.matches(c, s, f))
          .as("at " + f + " " + BucketJson.toJson(c))
          .isNotEqualTo(now);
      assertThat(NextFlip.deadline(c, s, NOW)).isEqualTo(now ? flip : Optional.empty());
      assertThat(NextFlip.joinInstant(c, s, NOW)).isEqualTo(now ? Optional.empty() : flip);
    }
    assertThat(flips).isGreaterThan(500);
    assertThat(joins).isGreaterThan(100);
  }

  static final List<PropertyOperator> DATE_OPS =
      List.of(
          PropertyOperator.WITHIN_NEXT,
          PropertyOperator.WITHIN_LAST,
          PropertyOperator.MORE_THAN_AGO,
          PropertyOperator.MORE_THAN_AHEAD);

  static UserState randomState(Random rnd) {
    ObjectNode p = F.objectNode();
    for (String key : List.of("t", "u")) {
      int r = rnd.nextInt(10);
      Instant t = NOW.plus(Duration.ofMinutes(rnd.nextInt(20 * 24 * 60) - 10 * 24 * 60));
      if (r < 5) p.put(key, t.toString());
      else if (r < 8) p.put(key, t.toEpochMilli());
      else if (r < 9) p.put(key, "nope");
    }
    p.put("plan", rnd.nextBoolean() ? "trial" : "pro");
    UserState s = new UserState(p, null);
    for (int i = rnd.nextInt(5); i > 0; i--) {
      s.recordEvent("e", NOW.minus(Duration.ofMinutes(rnd.nextInt(5 * 24 * 60))));
    }
    return s;
  }

  static Criterion randomTree(Random rnd, int depth) {
    if (depth < 2 && rnd.nextInt(10) < 6) {
      List<Criterion> children = new ArrayList<>();
      for (int i = 1 + rnd.nextInt(3); i > 0; i--) children.add(randomTree(rnd, depth + 1));
      return new CompositeCriterion(rnd.nextBoolean() ? Logic.AND : Logic.OR, children);
    }
    int r = rnd.nextInt(10);
    if (r < 6) {
      return new PropertyCriterion(
          rnd.nextBoolean() ? "t" : "u",
          DATE_OPS.get(rnd.nextInt(4)),
          F.textNode(Duration.ofHours(rnd.nextInt(6 * 24)).toString()));
    }
    if (r < 7) return rnd.nextBoolean() ? prop("plan").in("trial") : prop("plan").notIn("trial");
    CountOperator op = CountOperator.values()[rnd.nextInt(CountOperator.values().length)];
    return event("e").within(Duration.ofDays(1 + rnd.nextInt(4))).count(op, rnd.nextInt(4));
  }
}
