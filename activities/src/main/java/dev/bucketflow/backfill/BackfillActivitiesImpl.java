package dev.bucketflow.backfill;

import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.activity.Heartbeat;
import io.temporal.client.ActivityCompletionException;
import io.temporal.failure.ApplicationFailure;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Activity face of {@link BackfillService}. After each chunk the outbox is drained (when a
 * dispatcher is given) so that a re-evaluation's leaves reach journeys, and joins reach fast-expiry
 * arming and PostHog, as the walk goes rather than at the next reconcile tick; a failed drain is
 * left to the sweep's backstop and never fails the (already committed) chunk.
 */
public final class BackfillActivitiesImpl implements BackfillActivities {

  private static final Logger log = LoggerFactory.getLogger(BackfillActivitiesImpl.class);

  private final BackfillService service;
  private final OutboxDispatcher dispatcher;

  /** @param dispatcher drains the outbox after each chunk; may be null */
  public BackfillActivitiesImpl(BackfillService service, OutboxDispatcher dispatcher) {
    this.service = service;
    this.dispatcher = dispatcher;
  }

  @Override
  public BackfillJob open(BackfillRequest request) {
    if (request == null || request.bucketId() == null || request.criteriaHash() == null) {
      throw ApplicationFailure.newNonRetryableFailure("request: bucketId and criteriaHash are required", "BadRequest");
    }
    BackfillJob.Kind kind;
    try {
      kind = BackfillJob.Kind.fromDb(request.kind());
    } catch (IllegalArgumentException e) {
      throw ApplicationFailure.newNonRetryableFailure(e.getMessage(), "BadRequest");
    }
    return service.open(request.bucketId(), request.criteriaHash(), kind);
  }

  @Override
  public ChunkResult runChunk(long jobId) {
    // Before and after the chunk's transaction, and per outbox page (see Liveness).
    Runnable heartbeat = Heartbeat.current();
    heartbeat.run();
    ChunkResult result;
    try {
      result = service.runChunk(jobId);
    } catch (IllegalArgumentException e) {
      throw ApplicationFailure.newNonRetryableFailure(e.getMessage(), "UnknownJob");
    }
    heartbeat.run();
    if (dispatcher != null && (result.joined() > 0 || result.left() > 0)) {
      try {
        dispatcher.drain(heartbeat);
      } catch (ActivityCompletionException e) {
        throw e; // the chunk is committed; the retry finds the cursor past it
      } catch (RuntimeException e) {
        log.warn("outbox drain after backfill chunk of job {} failed; the reconcile backstop will retry: {}", jobId,
            e.toString());
      }
    }
    return result;
  }

  @Override
  public void complete(long jobId) {
    service.complete(jobId);
  }

  @Override
  public void fail(long jobId, String error) {
    service.fail(jobId, error);
  }
}
