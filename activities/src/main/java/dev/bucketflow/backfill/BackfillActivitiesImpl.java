package dev.bucketflow.backfill;

import dev.bucketflow.activity.Heartbeat;
import dev.bucketflow.dispatch.DeliveryWake;
import io.temporal.failure.ApplicationFailure;

/**
 * Activity face of {@link BackfillService}. After a chunk that changed memberships the delivery
 * workflows are woken, so that a re-evaluation's leaves reach journeys, and joins reach fast-expiry
 * arming and PostHog, as the walk goes rather than at their next poll.
 */
public final class BackfillActivitiesImpl implements BackfillActivities {

  private final BackfillService service;
  private final DeliveryWake delivery;

  public BackfillActivitiesImpl(BackfillService service, DeliveryWake delivery) {
    this.service = service;
    this.delivery = delivery;
  }

  @Override
  public BackfillJob open(BackfillRequest request) {
    if (request == null || request.bucketId() == null || request.criteriaHash() == null) {
      throw ApplicationFailure.newNonRetryableFailure(
          "request: bucketId and criteriaHash are required", "BadRequest");
    }
    if (request.kind() == null) {
      throw ApplicationFailure.newNonRetryableFailure(
          "request: kind (first_time or reeval) is required", "BadRequest");
    }
    return service.open(request.bucketId(), request.criteriaHash(), request.kind());
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
    if (result.joined() > 0 || result.left() > 0) delivery.all();
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
