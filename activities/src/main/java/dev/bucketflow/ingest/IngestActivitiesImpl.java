package dev.bucketflow.ingest;

import dev.bucketflow.dispatch.OutboxDispatcher;
import io.temporal.activity.Activity;

/**
 * Activity face of {@link IngestService}; idempotent through the batch id (see interface). After
 * the batch commits, its transitions are dispatched right away; a failure there loses nothing
 * (the rows stay in the outbox for the reconcile sweep) and does not fail the batch.
 */
public final class IngestActivitiesImpl implements IngestActivities {

  private final IngestService service;
  private final OutboxDispatcher dispatcher;

  public IngestActivitiesImpl(IngestService service, OutboxDispatcher dispatcher) {
    this.service = service;
    this.dispatcher = dispatcher;
  }

  @Override
  public IngestOutcome ingest(IngestBatch batch) {
    IngestOutcome outcome = service.apply(batch);
    if (outcome.needsDispatch()) {
      try {
        dispatcher.drain();
      } catch (RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(IngestActivitiesImpl.class)
            .warn("dispatch after batch {} failed; the sweep will redo it", batch.batchId(), e);
      }
    }
    return outcome;
  }

  @Override
  public void spill(SpillSegment segment) {
    service.spill().store(Activity.getExecutionContext().getInfo().getWorkflowId(), segment);
  }

  @Override
  public SpillSegment loadSpill(String segmentId) {
    return service.spill().load(segmentId, Shards.shardFromWorkflowId(
        Activity.getExecutionContext().getInfo().getWorkflowId()));
  }
}
