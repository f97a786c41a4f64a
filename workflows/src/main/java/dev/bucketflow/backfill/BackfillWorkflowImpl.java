package dev.bucketflow.backfill;

import dev.bucketflow.bucket.BackfillStatus;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.TemporalFailure;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;

/**
 * open → one activity per chunk until the walk is done → complete. Each chunk is a short activity
 * that commits its work and the cursor together, so the activity completion is the checkpoint; a
 * crashed worker costs at most one chunk, redone by the retry. Chunks heartbeat (before and after
 * their transaction, per outbox page) so that retry comes within seconds. The run continues-as-new
 * every {@link #CHUNKS_PER_RUN} chunks (or when the server suggests it) carrying only the request:
 * the job row holds the cursor and the counts.
 */
public class BackfillWorkflowImpl implements BackfillWorkflow {

  /** ~7 history events per chunk: 200 chunks stay well below the 4,096-event suggestion. */
  static final int CHUNKS_PER_RUN = 200;

  private static final Logger log = Workflow.getLogger(BackfillWorkflowImpl.class);

  private final BackfillActivities quick =
      Workflow.newActivityStub(
          BackfillActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofMinutes(2))
              .setRetryOptions(
                  RetryOptions.newBuilder()
                      .setInitialInterval(Duration.ofSeconds(1))
                      .setMaximumInterval(Duration.ofMinutes(1))
                      .setMaximumAttempts(10)
                      .build())
              .build());

  /**
   * Transient trouble (a database restart, a worker with older definitions) is retried for ~half an
   * hour.
   */
  private final BackfillActivities chunks =
      Workflow.newActivityStub(
          BackfillActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofMinutes(5))
              .setHeartbeatTimeout(dev.bucketflow.Liveness.HEARTBEAT_TIMEOUT)
              .setRetryOptions(
                  RetryOptions.newBuilder()
                      .setInitialInterval(Duration.ofSeconds(1))
                      .setBackoffCoefficient(2.0)
                      .setMaximumInterval(Duration.ofMinutes(1))
                      .setMaximumAttempts(40)
                      .build())
              .build());

  private BackfillProgress progress = BackfillProgress.opening();

  @Override
  public BackfillProgress run(BackfillRequest request) {
    Map<String, Object> memo = new LinkedHashMap<>();
    memo.put("bucketId", request.bucketId());
    memo.put("hash", request.criteriaHash());
    memo.put("kind", request.kind());
    Workflow.upsertMemo(memo);

    BackfillJob job = quick.open(request);
    progress = BackfillProgress.of(job);
    if (!job.running()) return progress; // completed before (a re-run for the same hash)

    try {
      for (int done = 0; ; done++) {
        ChunkResult chunk = chunks.runChunk(job.id());
        progress = progress.after(chunk);
        Workflow.setCurrentDetails(
            "backfill of "
                + request.bucketId()
                + " · "
                + progress.processed()
                + " of "
                + progress.totals()
                + " contacts · joined "
                + progress.joined()
                + " · left "
                + progress.left());
        if (chunk.done()) break;
        if (done + 1 >= CHUNKS_PER_RUN || Workflow.getInfo().isContinueAsNewSuggested()) {
          Workflow.continueAsNew(request);
        }
      }
      quick.complete(job.id());
      progress = progress.withStatus(BackfillStatus.COMPLETED);
      log.info(
          "backfill of bucket {} ({}) completed: processed={} joined={} left={}",
          request.bucketId(),
          job.kind(),
          progress.processed(),
          progress.joined(),
          progress.left());
      return progress;
    } catch (ActivityFailure e) {
      String error = messageOf(e);
      log.warn("backfill of bucket {} failed: {}", request.bucketId(), error);
      quick.fail(job.id(), error);
      progress = progress.withStatus(BackfillStatus.FAILED);
      throw ApplicationFailure.newNonRetryableFailure(
          "backfill of bucket " + request.bucketId() + " failed: " + error, "BackfillFailed");
    }
  }

  /**
   * The activity's own message (an ApplicationFailure's {@code getMessage} adds type and flags).
   */
  private static String messageOf(ActivityFailure e) {
    Throwable cause = e.getCause() == null ? e : e.getCause();
    String message =
        cause instanceof TemporalFailure t ? t.getOriginalMessage() : cause.getMessage();
    return String.valueOf(message);
  }

  @Override
  public BackfillProgress progress() {
    return progress;
  }
}
