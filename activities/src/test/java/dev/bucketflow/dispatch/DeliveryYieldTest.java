package dev.bucketflow.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * When delivery pauses for ingest, and for how long: as long as its work took, at most the cap
 * (pauses recorded on a hand-driven clock, never slept).
 */
class DeliveryYieldTest {

  final List<Duration> pauses = Collections.synchronizedList(new ArrayList<>());
  final AtomicLong clock = new AtomicLong();

  DeliveryYield yieldOf(Duration cap) {
    return new DeliveryYield(
        cap,
        d -> {
          pauses.add(d);
          clock.addAndGet(d.toNanos()); // the pause takes its time
        },
        clock::get);
  }

  long work(long since, long millis) {
    clock.addAndGet(Duration.ofMillis(millis).toNanos());
    return since;
  }

  @Test
  void pausesAsLongAsTheWorkTookAtMostTheCapAndOnlyWhileIngestRuns() {
    DeliveryYield y = yieldOf(Duration.ofMillis(20));
    long since = y.now();
    since = y.yieldAfter(work(since, 5)); // no ingest: no pause
    assertThat(pauses).isEmpty();

    try (DeliveryYield.Running batch = y.ingestStarted()) {
      since = y.yieldAfter(work(since, 5));
      since = y.yieldAfter(work(since, 50)); // a slow call buys no more than the cap
      since = y.yieldAfter(work(since, 0)); // a row that called nothing costs nothing
    }
    y.yieldAfter(work(since, 5));
    assertThat(pauses).containsExactly(Duration.ofMillis(5), Duration.ofMillis(20));
  }

  @Test
  void theWorkIsTimedFromTheEndOfThePreviousPause() {
    DeliveryYield y = yieldOf(Duration.ofMillis(20));
    try (DeliveryYield.Running batch = y.ingestStarted()) {
      long since = y.now();
      since = y.yieldAfter(work(since, 8));
      since = y.yieldAfter(work(since, 3));
    }
    assertThat(pauses).containsExactly(Duration.ofMillis(8), Duration.ofMillis(3));
  }

  @Test
  void aMarkCountsUntilItsBatchEndsAndClosingTwiceEndsItOnce() {
    DeliveryYield y = yieldOf(Duration.ofMillis(20));
    DeliveryYield.Running a = y.ingestStarted();
    DeliveryYield.Running b = y.ingestStarted();
    a.close();
    a.close();
    assertThat(y.ingestRunning()).isEqualTo(1);
    y.yieldAfter(work(y.now(), 4)); // b still runs
    assertThat(pauses).containsExactly(Duration.ofMillis(4));
    b.close();
    assertThat(y.ingestRunning()).isZero();
  }

  @Test
  void aZeroCapNeverPauses() {
    DeliveryYield y = yieldOf(Duration.ZERO);
    try (DeliveryYield.Running batch = y.ingestStarted()) {
      y.yieldAfter(work(y.now(), 30));
    }
    assertThat(pauses).isEmpty();
  }

  @Test
  void anInterruptedPauseEndsAndKeepsTheInterrupt() {
    DeliveryYield y =
        new DeliveryYield(
            Duration.ofSeconds(1),
            d -> {
              throw new InterruptedException("stop");
            },
            clock::get);
    try (DeliveryYield.Running batch = y.ingestStarted()) {
      y.yieldAfter(work(y.now(), 10));
      assertThat(Thread.interrupted()).isTrue(); // reads and clears the flag
    }
  }

  @Test
  void theSettingIsBoundedAndNamesItsVariable() {
    assertThat(DeliverySettings.DEFAULTS.yieldToIngest()).isEqualTo(Duration.ofMillis(20));
    assertThat(
            DeliverySettings.fromEnv(Map.of(DeliverySettings.YIELD_ENV, "PT0.05S")).yieldToIngest())
        .isEqualTo(Duration.ofMillis(50));
    assertThat(DeliverySettings.fromEnv(Map.of(DeliverySettings.YIELD_ENV, "0")).yieldToIngest())
        .isZero();
    assertThatThrownBy(() -> DeliverySettings.fromEnv(Map.of(DeliverySettings.YIELD_ENV, "5")))
        .hasMessageContaining("BUCKETFLOW_DELIVERY_YIELD")
        .hasMessageContaining("0 to 1000 ms");
    assertThatThrownBy(() -> DeliverySettings.DEFAULTS.withYieldToIngest(Duration.ofMillis(-1)))
        .hasMessageContaining("BUCKETFLOW_DELIVERY_YIELD");
  }
}
