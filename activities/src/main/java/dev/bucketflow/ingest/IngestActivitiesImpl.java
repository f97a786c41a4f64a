package dev.bucketflow.ingest;

import dev.bucketflow.activity.Heartbeat;
import dev.bucketflow.dispatch.DeliveryWake;
import dev.bucketflow.dispatch.DeliveryYield;
import dev.bucketflow.membership.DeadlineSignals;
import dev.bucketflow.shard.Shards;
import io.temporal.activity.Activity;
import java.time.Clock;

/**
 * Activity face of {@link IngestService}; idempotent through the batch id (see interface). After
 * the batch commits, the shard's delivery workflow is woken to deliver what the batch put in the
 * outbox (also after a replayed batch: the attempt that committed it may have died before its
 * wake-up); fast-expiry deadlines the batch moved earlier are signalled to their watches. Both are
 * best effort and never fail the committed batch.
 */
public final class IngestActivitiesImpl implements IngestActivities {

  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(IngestActivitiesImpl.class);

  private final IngestService service;
  private final DeliveryWake delivery;
  private final DeadlineSignals deadlineSignals;
  private final IngestCommitListener committed;
  private final Clock clock;
  private final DeliveryYield deliveryYield;

  public IngestActivitiesImpl(IngestService service, DeliveryWake delivery) {
    this(service, delivery, DeadlineSignals.NONE);
  }

  public IngestActivitiesImpl(
      IngestService service, DeliveryWake delivery, DeadlineSignals deadlineSignals) {
    this(service, delivery, deadlineSignals, IngestCommitListener.NONE, Clock.systemUTC());
  }

  /**
   * @param committed told of every batch this activity commits (latency metrics)
   * @param clock the wall clock the commit instant is read from: it is compared with the workflow
   *     time of each signal's receipt, so it must be real time, never the evaluation clock of a
   *     test
   */
  public IngestActivitiesImpl(
      IngestService service,
      DeliveryWake delivery,
      DeadlineSignals deadlineSignals,
      IngestCommitListener committed,
      Clock clock) {
    this(service, delivery, deadlineSignals, committed, clock, DeliveryYield.none());
  }

  /**
   * @param deliveryYield told while each batch's transaction runs, so that this worker's delivery
   *     yields to it
   */
  public IngestActivitiesImpl(
      IngestService service,
      DeliveryWake delivery,
      DeadlineSignals deadlineSignals,
      IngestCommitListener committed,
      Clock clock,
      DeliveryYield deliveryYield) {
    this.service = service;
    this.delivery = delivery;
    this.deadlineSignals = deadlineSignals;
    this.committed = committed;
    this.clock = clock;
    this.deliveryYield = deliveryYield;
  }

  @Override
  public IngestOutcome ingest(IngestBatch batch) {
    // Heartbeats before, inside and after the transaction: a killed worker's
    // batch is retried elsewhere after the (seconds-long) heartbeat timeout.
    Runnable heartbeat = Heartbeat.current();
    heartbeat.run();
    IngestService.Applied applied;
    try (DeliveryYield.Running running = deliveryYield.ingestStarted()) {
      applied = service.applyWithTransitions(batch, heartbeat);
    }
    // Returned means committed: the commit instant is now.
    if (!applied.outcome().duplicateBatch()) report(applied);
    IngestOutcome outcome = applied.outcome();
    heartbeat.run();
    if (outcome.needsDispatch() || outcome.duplicateBatch()) {
      delivery.shard(
          Shards.shardFromWorkflowId(Activity.getExecutionContext().getInfo().getWorkflowId()));
    }
    if (!applied.movedDeadlines().isEmpty())
      deadlineSignals.deadlinesMoved(applied.movedDeadlines());
    return outcome;
  }

  /** Best effort: a failing metric must never fail (and so retry) a committed batch. */
  private void report(IngestService.Applied applied) {
    try {
      committed.committed(applied, clock.instant());
    } catch (RuntimeException e) {
      log.warn("ingest commit listener failed; batch stays committed", e);
    }
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
    return service
        .spill()
        .load(
            segmentId,
            Shards.shardFromWorkflowId(Activity.getExecutionContext().getInfo().getWorkflowId()));
  }
}
