package dev.bucketflow.bucket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EventSeriesTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void addKeepsOrderAndCountsBeforeHorizonOnlyInTotal() {
    EventSeries s = new EventSeries(10, T0, List.of(T0.plusSeconds(5), T0.plusSeconds(1)));
    s.add(T0.minusSeconds(100)); // before horizon: counted, not listed
    s.add(T0.plusSeconds(3));
    s.add(T0.plusSeconds(3)); // duplicate instants both count
    assertThat(s.allTimeCount()).isEqualTo(13);
    assertThat(s.timesNewestFirst())
        .containsExactly(
            T0.plusSeconds(5), T0.plusSeconds(3), T0.plusSeconds(3), T0.plusSeconds(1));
    assertThat(s.countSince(null)).isEqualTo(13);
    assertThat(s.countSince(T0)).isEqualTo(4);
    assertThat(s.countSince(T0.plusSeconds(3))).isEqualTo(1);
    assertThat(s.nthNewest(2)).contains(T0.plusSeconds(3));
    assertThat(s.nthNewest(5)).isEmpty();
    assertThatThrownBy(() -> s.countSince(T0.minusSeconds(1)))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void rejectsInconsistentConstruction() {
    assertThatThrownBy(() -> new EventSeries(1, T0, List.of(T0)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new EventSeries(0, null, List.of(T0)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(EventSeries.empty().countSince(T0)).isZero();
  }

  /** Randomised check against a brute-force count (fixed seed, so failures reproduce). */
  @Test
  void countSinceMatchesBruteForce() {
    Random random = new Random(42);
    for (int round = 0; round < 500; round++) {
      EventSeries s = EventSeries.empty();
      List<Instant> times = new ArrayList<>();
      int n = random.nextInt(30);
      for (int i = 0; i < n; i++) {
        Instant t = T0.plusSeconds(random.nextInt(101));
        s.add(t);
        times.add(t);
      }
      Instant since = T0.plusSeconds(random.nextInt(101));
      assertThat(s.countSince(since))
          .isEqualTo(times.stream().filter(t -> t.isAfter(since)).count());
      assertThat(s.countSince(null)).isEqualTo(times.size());
    }
  }
}
