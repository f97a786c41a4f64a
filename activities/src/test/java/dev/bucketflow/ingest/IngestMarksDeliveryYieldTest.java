package dev.bucketflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bucketflow.dispatch.DeliveryWake;
import dev.bucketflow.dispatch.DeliveryYield;
import dev.bucketflow.membership.DeadlineSignals;
import dev.bucketflow.testing.DatabaseTest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The ingest activity marks its batch as running for the worker's delivery to yield to, for exactly
 * the span of the batch's transaction, and unmarks it when the batch fails.
 */
class IngestMarksDeliveryYieldTest extends DatabaseTest {

  final DeliveryYield deliveryYield =
      new DeliveryYield(Duration.ofMillis(20), d -> {}, System::nanoTime);
  final List<Integer> seenInside = new ArrayList<>();
  IngestService service;
  IngestActivitiesImpl activity;

  @BeforeEach
  void clean() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, rejected_events, ingest_batches");
    service =
        new IngestService(
            dsl, dev.bucketflow.testing.Engines.engine(dsl, List.of()), Clock.systemUTC());
    service.afterEventsStored(tx -> seenInside.add(deliveryYield.ingestRunning()));
    activity =
        new IngestActivitiesImpl(
            service,
            DeliveryWake.NONE,
            DeadlineSignals.NONE,
            IngestCommitListener.NONE,
            Clock.systemUTC(),
            deliveryYield);
  }

  static IngestBatch batch(String id) {
    return new IngestBatch(
        id, 0, List.of(IngestServiceTest.pending("{\"userId\":\"u1\",\"event\":\"a\"}")));
  }

  @Test
  void aBatchIsMarkedWhileItsTransactionRunsAndUnmarkedAfter() {
    assertThat(activity.ingest(batch("b/1")).stored()).isEqualTo(1);
    assertThat(seenInside).containsExactly(1);
    assertThat(deliveryYield.ingestRunning()).isZero();
  }

  @Test
  void aFailingBatchIsUnmarkedToo() {
    service.afterEventsStored(
        tx -> {
          seenInside.add(deliveryYield.ingestRunning());
          throw new IllegalStateException("connection dropped");
        });
    assertThatThrownBy(() -> activity.ingest(batch("b/2"))).hasMessage("connection dropped");
    assertThat(seenInside).containsExactly(1);
    assertThat(deliveryYield.ingestRunning()).isZero();
  }
}
