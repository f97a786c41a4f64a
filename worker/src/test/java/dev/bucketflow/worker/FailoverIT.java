package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.EventIngestWorkflow;
import dev.bucketflow.ingest.IngestActivities;
import dev.bucketflow.ingest.IngestBatch;
import dev.bucketflow.ingest.IngestOutcome;
import dev.bucketflow.ingest.IngestStats;
import dev.bucketflow.ingest.SpillSegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

/**
 * Fast failover: two workers on one port-bound test server and one database; worker A "dies" while
 * running a shard's ingest batch and worker B applies it within seconds (heartbeat timeout), not
 * after the 2-minute start-to-close timeout, and nothing is stranded on A's sticky queue.
 *
 * <p>A SIGKILL of an in-process worker is impossible, so A's death is simulated faithfully enough:
 * its ingest activity hangs before touching the database and ignores interrupts (it never reports
 * success or failure, and never heartbeats again), then A's factory is shut down at once ({@code
 * shutdownNow}: no more polls). The server learns nothing, exactly as with a killed process; only
 * the missing heartbeats tell it. (A separate JVM killed with {@code destroyForcibly} would test
 * the same server-side path at the cost of a second jOOQ/Flyway boot on a 2-core machine.)
 */
@org.junit.jupiter.api.parallel
    .Isolated // it measures a failover time: no other IT shares the cores meanwhile
class FailoverIT {

  private static final String USER = "failover-user";

  /**
   * A's ingest: the first batch hangs (uninterruptibly) until the test ends; the rest never
   * happens.
   */
  static final class HangingIngest implements IngestActivities {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicBoolean armed = new AtomicBoolean(true);
    final IngestActivities delegate;

    HangingIngest(IngestActivities delegate) {
      this.delegate = delegate;
    }

    @Override
    public IngestOutcome ingest(IngestBatch batch) {
      if (armed.getAndSet(false)) {
        entered.countDown();
        boolean interrupted = false;
        while (true) {
          try {
            release.await();
            break;
          } catch (InterruptedException e) {
            interrupted = true; // a killed process does not get to report anything either
          }
        }
        if (interrupted) Thread.currentThread().interrupt();
        throw new IllegalStateException("worker A is dead; this attempt must not count");
      }
      return delegate.ingest(batch);
    }

    @Override
    public void spill(SpillSegment segment) {
      delegate.spill(segment);
    }

    @Override
    public SpillSegment loadSpill(String segmentId) {
      return delegate.loadSpill(segmentId);
    }
  }

  /** B's ingest: counts the batches B applied. */
  static final class CountingIngest implements IngestActivities {
    final AtomicInteger batches = new AtomicInteger();
    final IngestActivities delegate;

    CountingIngest(IngestActivities delegate) {
      this.delegate = delegate;
    }

    @Override
    public IngestOutcome ingest(IngestBatch batch) {
      IngestOutcome outcome = delegate.ingest(batch);
      batches.incrementAndGet();
      return outcome;
    }

    @Override
    public void spill(SpillSegment segment) {
      delegate.spill(segment);
    }

    @Override
    public SpillSegment loadSpill(String segmentId) {
      return delegate.loadSpill(segmentId);
    }
  }

  static List<JsonNode> events(int from, int to) {
    List<JsonNode> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      ObjectNode e = Json.MAPPER.createObjectNode();
      e.put("userId", USER).put("event", "page.view").putObject("properties").put("i", i);
      out.add(e);
    }
    return out;
  }

  @Test
  void aShardWhoseWorkerDiedMidBatchAppliesOnTheOtherWorkerWithinSeconds() throws Exception {
    HangingIngest[] a = new HangingIngest[1];
    CountingIngest[] b = new CountingIngest[1];
    try (WorkerHarness harness =
        new WorkerHarness(
            Path.of("src/test/resources/e2e-buckets"),
            Path.of("src/test/resources/no-journeys"),
            impl -> a[0] = new HangingIngest(impl))) {
      // auto on the Java test server: sticky execution off, so A's sticky queue can hold nothing.
      assertThat(harness.worker.stickyTimeout()).isZero();
      assertThat(harness.worker.workerOptions().getStickyQueueScheduleToStartTimeout()).isZero();
      BucketflowWorker workerB = null;
      try {
        for (JsonNode e : events(0, 20)) harness.ingestClient().send(e);
        assertThat(a[0].entered.await(60, TimeUnit.SECONDS))
            .as("worker A took the first batch")
            .isTrue();

        workerB = harness.startAnotherWorker(impl -> b[0] = new CountingIngest(impl));
        long killedAt = System.nanoTime();
        harness.worker.haltForTest();

        WorkerHarness.await(
            () -> storedEvents(harness) == 20,
            Duration.ofSeconds(15),
            "the batch A was running applied by B within 15 s");
        Duration failover = Duration.ofNanos(System.nanoTime() - killedAt);
        assertThat(b[0].batches.get()).as("batches applied by B").isPositive();
        assertThat(failover)
            .as("well under the 2-minute start-to-close timeout")
            .isLessThan(Duration.ofSeconds(15));

        // The shard keeps going on B: the next events apply, nothing waits on A's sticky queue.
        for (JsonNode e : events(20, 40)) harness.ingestClient().send(e);
        WorkerHarness.await(
            () -> storedEvents(harness) == 40,
            Duration.ofSeconds(15),
            "the next batch applied on B");

        // Every event stored exactly once, and the shard answers queries (served by B).
        assertThat(
                harness
                    .dsl()
                    .fetchValue(
                        DSL.select(
                                DSL.countDistinct(
                                    DSL.field("{0}->>'i'", String.class, USER_EVENTS.PROPERTIES)))
                            .from(USER_EVENTS)
                            .where(USER_EVENTS.USER_ID.eq(USER))))
            .isEqualTo(40);
        int shard = harness.ingestClient().shardOf(events(0, 1).get(0));
        EventIngestWorkflow stub =
            workerB
                .client()
                .newWorkflowStub(
                    EventIngestWorkflow.class, dev.bucketflow.shard.Shards.workflowId(shard));
        // The workflow counts a batch applied only when its activity's completion is recorded,
        // a moment after the rows commit: poll its own view rather than ask once.
        WorkerHarness.await(
            () -> {
              IngestStats s = stub.stats();
              return s.pending() == 0 && s.applied() == 40;
            },
            Duration.ofSeconds(30),
            "the shard reporting 40 applied, none pending");
        IngestStats stats = stub.stats();
        assertThat(stats.pending()).isZero();
        assertThat(stats.applied()).isEqualTo(40);
      } finally {
        if (a[0] != null) a[0].release.countDown();
        if (workerB != null) workerB.close();
      }
    }
  }

  private static int storedEvents(WorkerHarness harness) {
    return harness.dsl().fetchCount(USER_EVENTS, USER_EVENTS.USER_ID.eq(USER));
  }
}
