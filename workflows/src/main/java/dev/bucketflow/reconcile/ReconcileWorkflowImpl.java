package dev.bucketflow.reconcile;

import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;

/**
 * One sweep per time-based bucket, all in flight at once, so a large bucket cannot starve the
 * others; a failed bucket is reported, not fatal to the run. Then the outbox backstop.
 *
 * <p>Since {@code resumable-sweep} (version 1) a bucket is swept in bounded parts: each activity
 * works at most a budget of chunks or seconds and returns its cursor, and the bucket's workflow
 * thread calls again from there until the sweep is done, so no activity grows with the number of
 * contacts (and a retried part resumes from its heartbeat). Runs recorded before (no marker) replay
 * the one-activity-per-bucket shape.
 */
public class ReconcileWorkflowImpl implements ReconcileWorkflow {

  private static final Logger log = Workflow.getLogger(ReconcileWorkflowImpl.class);

  private final ReconcileActivities quick =
      Workflow.newActivityStub(
          ReconcileActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofMinutes(2))
              // redispatchOutbox heartbeats per outbox page; bucketsToSweep is one short query.
              .setHeartbeatTimeout(dev.bucketflow.Liveness.HEARTBEAT_TIMEOUT)
              .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(5).build())
              .build());

  private final ReconcileActivities sweeps =
      Workflow.newActivityStub(
          ReconcileActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofHours(1))
              // Sweeps heartbeat per chunk: a killed worker's sweep is retried elsewhere within
              // seconds.
              .setHeartbeatTimeout(dev.bucketflow.Liveness.HEARTBEAT_TIMEOUT)
              .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(3).build())
              .build());

  private final ReconcileActivities parts =
      Workflow.newActivityStub(
          ReconcileActivities.class,
          ActivityOptions.newBuilder()
              // A part works for a bounded time (the activity's budget) and heartbeats per chunk.
              .setStartToCloseTimeout(Duration.ofMinutes(10))
              .setHeartbeatTimeout(dev.bucketflow.Liveness.HEARTBEAT_TIMEOUT)
              .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(3).build())
              .build());

  static final String RESUMABLE_SWEEP = "resumable-sweep";
  static final String EVENT_RETENTION = "event-retention";

  @Override
  public ReconcileReport run(ReconcileRequest request) {
    String only = request == null ? null : request.bucketId();
    List<String> buckets = quick.bucketsToSweep(only);
    int version = Workflow.getVersion(RESUMABLE_SWEEP, Workflow.DEFAULT_VERSION, 1);
    List<Promise<BucketSweep>> running = new ArrayList<>();
    for (String bucket : buckets) {
      running.add(
          version == Workflow.DEFAULT_VERSION
              ? Async.function(sweeps::sweepBucket, bucket)
              : Async.function(() -> sweepInParts(bucket)));
    }
    List<BucketSweep> results = new ArrayList<>();
    for (int i = 0; i < buckets.size(); i++) {
      try {
        results.add(running.get(i).get());
      } catch (ActivityFailure e) {
        log.warn("reconcile of bucket {} failed: {}", buckets.get(i), e.getMessage());
        results.add(BucketSweep.failed(buckets.get(i), errorOf(e)));
      }
    }
    int redispatched = quick.redispatchOutbox();
    // Since event-retention (version 1) each run also keeps the event partitions; runs recorded
    // before replay without that activity.
    if (Workflow.getVersion(EVENT_RETENTION, Workflow.DEFAULT_VERSION, 1) == 1) {
      try {
        quick.maintainEventStorage();
      } catch (ActivityFailure e) {
        // Storage upkeep failing must not fail the sweep's report; the next run tries again.
        log.warn("event storage maintenance failed: {}", errorOf(e));
      }
    }
    return new ReconcileReport(results, redispatched);
  }

  /**
   * Parts from the start until done; a part that fails for good ends it, the earlier parts counted.
   */
  private BucketSweep sweepInParts(String bucket) {
    BucketSweep total = BucketSweep.zero(bucket);
    SweepCursor cursor = SweepCursor.start();
    while (!cursor.done()) {
      SweepProgress part;
      try {
        part = parts.sweepBucketPart(new SweepStep(bucket, cursor));
      } catch (ActivityFailure e) {
        log.warn("reconcile of bucket {} failed at {}: {}", bucket, cursor, e.getMessage());
        return total.withError(errorOf(e));
      }
      total = total.plus(part.counts());
      cursor = part.next();
    }
    return total;
  }

  private static String errorOf(ActivityFailure e) {
    return e.getCause() instanceof ApplicationFailure af
        ? af.getOriginalMessage()
        : String.valueOf(e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
  }
}
