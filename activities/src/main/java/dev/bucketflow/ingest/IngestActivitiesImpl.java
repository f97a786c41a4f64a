package dev.bucketflow.ingest;

import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.activity.Heartbeat;
import dev.bucketflow.membership.DeadlineSignals;
import io.temporal.activity.Activity;
import io.temporal.client.ActivityCompletionException;

/**
 * Activity face of {@link IngestService}; idempotent through the batch id (see interface). After
 * the batch commits, its transitions are dispatched right away; a failure there loses nothing
 * (the rows stay in the outbox for the reconcile sweep) and does not fail the batch. Fast-expiry
 * deadlines the batch moved earlier are then signalled to their watches (best effort as well).
 */
public final class IngestActivitiesImpl implements IngestActivities {

  private final IngestService service;
  private final OutboxDispatcher dispatcher;
  private final DeadlineSignals deadlineSignals;

  public IngestActivitiesImpl(IngestService service, OutboxDispatcher dispatcher) {
    this(service, dispatcher, DeadlineSignals.NONE);
  }

  public IngestActivitiesImpl(IngestService service, OutboxDispatcher dispatcher, DeadlineSignals deadlineSignals) {
    this.service = service;
    this.dispatcher = dispatcher;
    this.deadlineSignals = deadlineSignals;
  }

  @Override
  public IngestOutcome ingest(IngestBatch batch) {
    // Heartbeats before, inside and after the transaction, and per outbox page: a killed worker's
    // batch is retried elsewhere after the (seconds-long) heartbeat timeout.
    Runnable heartbeat = Heartbeat.current();
    heartbeat.run();
    IngestService.Applied applied = service.applyWithTransitions(batch, heartbeat);
    IngestOutcome outcome = applied.outcome();
    heartbeat.run();
    if (outcome.needsDispatch()) {
      try {
        dispatcher.drain(heartbeat);
      } catch (ActivityCompletionException e) {
        throw e; // the server gave this attempt up; the batch is committed, the retry replays it
      } catch (RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(IngestActivitiesImpl.class)
            .warn("dispatch after batch {} failed; the sweep will redo it", batch.batchId(), e);
      }
    }
    if (!applied.movedDeadlines().isEmpty()) deadlineSignals.deadlinesMoved(applied.movedDeadlines());
    return outcome;
  }

  @Override
  public void spill(SpillSegment segment) {
    Runnable heartbeat = Heartbeat.current();
    heartbeat.run();
    service.spill().store(Activity.getExecutionContext().getInfo().getWorkflowId(), segment);
  }

  @Override
  public SpillSegment loadSpill(String segmentId) {
    Heartbeat.current().run();
    return service.spill().load(segmentId, Shards.shardFromWorkflowId(
        Activity.getExecutionContext().getInfo().getWorkflowId()));
  }
}
