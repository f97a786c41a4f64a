package dev.bucketflow.bucket;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class EntryGateTest {
  static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");
  static final Duration WEEK = Duration.ofDays(7);

  @Test
  void unlimitedAlwaysEmits() {
    assertThat(EntryGate.emitsJoin(EntryLimit.UNLIMITED, null, 5, NOW.minusSeconds(1), NOW))
        .isTrue();
  }

  @Test
  void onceEmitsOnlyTheFirstEverJoin() {
    assertThat(EntryGate.emitsJoin(EntryLimit.ONCE, null, 0, null, NOW)).isTrue();
    assertThat(EntryGate.emitsJoin(EntryLimit.ONCE, null, 1, NOW.minus(Duration.ofDays(400)), NOW))
        .isFalse();
  }

  @Test
  void oncePerPeriodIsSuppressedWhileTheLastLeaveIsYoungerThanThePeriod() {
    assertThat(EntryGate.emitsJoin(EntryLimit.ONCE_PER_PERIOD, WEEK, 0, null, NOW)).isTrue();
    assertThat(
            EntryGate.emitsJoin(
                EntryLimit.ONCE_PER_PERIOD, WEEK, 1, NOW.minus(Duration.ofDays(3)), NOW))
        .isFalse();
    assertThat(
            EntryGate.emitsJoin(
                EntryLimit.ONCE_PER_PERIOD, WEEK, 1, NOW.minus(WEEK).plusMillis(1), NOW))
        .isFalse();
    assertThat(EntryGate.emitsJoin(EntryLimit.ONCE_PER_PERIOD, WEEK, 1, NOW.minus(WEEK), NOW))
        .as("boundary")
        .isTrue();
    assertThat(
            EntryGate.emitsJoin(
                EntryLimit.ONCE_PER_PERIOD, WEEK, 3, NOW.minus(Duration.ofDays(8)), NOW))
        .isTrue();
    assertThat(EntryGate.emitsJoin(EntryLimit.ONCE_PER_PERIOD, null, 3, NOW.minusSeconds(1), NOW))
        .as("no period -> emits")
        .isTrue();
  }
}
