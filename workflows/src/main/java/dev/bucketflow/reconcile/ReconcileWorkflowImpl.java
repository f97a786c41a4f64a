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
 * One activity per time-based bucket, all in flight at once, so a large bucket cannot starve the
 * others; a failed bucket is reported, not fatal to the run. Then the outbox backstop.
 */
public class ReconcileWorkflowImpl implements ReconcileWorkflow {

  private static final Logger log = Workflow.getLogger(ReconcileWorkflowImpl.class);

  private final ReconcileActivities quick = Workflow.newActivityStub(ReconcileActivities.class,
      ActivityOptions.newBuilder()
          .setStartToCloseTimeout(Duration.ofMinutes(2))
          // redispatchOutbox heartbeats per outbox page; bucketsToSweep is one short query.
          .setHeartbeatTimeout(dev.bucketflow.Liveness.HEARTBEAT_TIMEOUT)
          .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(5).build())
          .build());

  private final ReconcileActivities sweeps = Workflow.newActivityStub(ReconcileActivities.class,
      ActivityOptions.newBuilder()
          .setStartToCloseTimeout(Duration.ofHours(1))
          // Sweeps heartbeat per chunk: a killed worker's sweep is retried elsewhere within seconds.
          .setHeartbeatTimeout(dev.bucketflow.Liveness.HEARTBEAT_TIMEOUT)
          .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(3).build())
          .build());

  @Override
  public ReconcileReport run(ReconcileRequest request) {
    String only = request == null ? null : request.bucketId();
    List<String> buckets = quick.bucketsToSweep(only);
    List<Promise<BucketSweep>> running = new ArrayList<>();
    for (String bucket : buckets) running.add(Async.function(sweeps::sweepBucket, bucket));
    List<BucketSweep> results = new ArrayList<>();
    for (int i = 0; i < buckets.size(); i++) {
      try {
        results.add(running.get(i).get());
      } catch (ActivityFailure e) {
        log.warn("reconcile of bucket {} failed: {}", buckets.get(i), e.getMessage());
        results.add(BucketSweep.failed(buckets.get(i), e.getCause() instanceof ApplicationFailure af
            ? af.getOriginalMessage() : String.valueOf(e.getCause() == null ? e.getMessage() : e.getCause().getMessage())));
      }
    }
    int redispatched = quick.redispatchOutbox();
    return new ReconcileReport(results, redispatched);
  }
}
