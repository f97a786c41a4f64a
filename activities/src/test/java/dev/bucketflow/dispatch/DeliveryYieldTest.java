package dev.bucketflow.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** When delivery pauses for ingest, and for how long (pauses recorded, never slept). */
class DeliveryYieldTest {

  final List<Duration> pauses = Collections.synchronizedList(new ArrayList<>());

  DeliveryYield yieldOf(Duration pause) {
    return new DeliveryYield(pause, pauses::add);
  }

  @Test
  void pausesOnlyWhileAnIngestBatchRuns() {
    DeliveryYield y = yieldOf(Duration.ofMillis(20));
    y.beforeTargetCall();
    assertThat(pauses).isEmpty();

    DeliveryYield.Running first = y.ingestStarted();
    DeliveryYield.Running second = y.ingestStarted();
    y.beforeTargetCall();
    first.close();
    y.beforeTargetCall(); // the second batch still runs
    second.close();
    y.beforeTargetCall();

    assertThat(pauses).containsExactly(Duration.ofMillis(20), Duration.ofMillis(20));
    assertThat(y.ingestRunning()).isZero();
  }

  @Test
  void closingAMarkTwiceEndsItOnce() {
    DeliveryYield y = yieldOf(Duration.ofMillis(5));
    DeliveryYield.Running a = y.ingestStarted();
    DeliveryYield.Running b = y.ingestStarted();
    a.close();
    a.close();
    assertThat(y.ingestRunning()).isEqualTo(1);
    y.beforeTargetCall();
    assertThat(pauses).hasSize(1);
    b.close();
    assertThat(y.ingestRunning()).isZero();
  }

  @Test
  void aZeroPauseNeverPauses() {
    DeliveryYield y = yieldOf(Duration.ZERO);
    try (DeliveryYield.Running running = y.ingestStarted()) {
      y.beforeTargetCall();
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
            });
    try (DeliveryYield.Running running = y.ingestStarted()) {
      y.beforeTargetCall();
      assertThat(Thread.interrupted()).isTrue(); // reads and clears the flag
    }
  }

  @Test
  void theSettingIsBoundedAndNamesItsVariable() {
    DeliverySettings d = DeliverySettings.DEFAULTS;
    assertThat(d.yieldToIngest()).isEqualTo(Duration.ofMillis(20));
    assertThat(
            DeliverySettings.fromEnv(java.util.Map.of(DeliverySettings.YIELD_ENV, "PT0.05S"))
                .yieldToIngest())
        .isEqualTo(Duration.ofMillis(50));
    assertThat(
            DeliverySettings.fromEnv(java.util.Map.of(DeliverySettings.YIELD_ENV, "0"))
                .yieldToIngest())
        .isZero();
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> DeliverySettings.fromEnv(java.util.Map.of(DeliverySettings.YIELD_ENV, "5")))
        .hasMessageContaining("BUCKETFLOW_DELIVERY_YIELD")
        .hasMessageContaining("0 to 1000 ms");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> d.withYieldToIngest(Duration.ofMillis(-1)))
        .hasMessageContaining("BUCKETFLOW_DELIVERY_YIELD");
  }
}
