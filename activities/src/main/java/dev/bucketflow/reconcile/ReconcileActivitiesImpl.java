package dev.bucketflow.reconcile;

import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.activity.Heartbeat;
import java.util.List;
import java.util.function.Consumer;

/** Activity face of {@link ReconcileService} and the outbox backstop. */
public final class ReconcileActivitiesImpl implements ReconcileActivities {

  private final ReconcileService service;
  private final OutboxDispatcher dispatcher;
  private final ReconcileService.Budget budget;

  public ReconcileActivitiesImpl(ReconcileService service, OutboxDispatcher dispatcher) {
    this(service, dispatcher, ReconcileService.Budget.DEFAULT);
  }

  /** @param budget how much one {@link #sweepBucketPart} call may do before it returns its cursor */
  public ReconcileActivitiesImpl(ReconcileService service, OutboxDispatcher dispatcher,
      ReconcileService.Budget budget) {
    this.service = service;
    this.dispatcher = dispatcher;
    this.budget = budget;
  }

  @Override
  public List<String> bucketsToSweep(String onlyBucket) {
    return service.bucketsToSweep(onlyBucket);
  }

  @Override
  public SweepProgress sweepBucketPart(SweepStep step) {
    // A retried attempt goes on from its predecessor's last heartbeat (chunks committed, counted).
    SweepProgress from = Heartbeat.lastDetails(SweepProgress.class)
        .orElseGet(() -> SweepProgress.start(step.bucketId(), step.from()));
    Consumer<SweepProgress> heartbeat = Heartbeat.withDetails();
    heartbeat.accept(from);
    return service.sweep(step.bucketId(), from, budget, heartbeat);
  }

  @Override
  public BucketSweep sweepBucket(String bucketId) {
    Runnable heartbeat = Heartbeat.current();
    Consumer<SweepProgress> progress = Heartbeat.withDetails();
    SweepProgress from = Heartbeat.lastDetails(SweepProgress.class)
        .orElseGet(() -> SweepProgress.start(bucketId, SweepCursor.start()));
    progress.accept(from);
    BucketSweep sweep = service.sweep(bucketId, from, ReconcileService.Budget.UNBOUNDED, progress).counts();
    // Transitions just written reach their targets now rather than at the next tick.
    dispatcher.drain(heartbeat);
    return sweep;
  }

  @Override
  public int redispatchOutbox() {
    return dispatcher.drain(Heartbeat.current());
  }
}
