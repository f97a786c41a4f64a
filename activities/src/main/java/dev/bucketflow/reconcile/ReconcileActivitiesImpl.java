package dev.bucketflow.reconcile;

import dev.bucketflow.dispatch.DeliveryWake;
import dev.bucketflow.activity.Heartbeat;
import java.util.List;

/**
 * Activity face of {@link ReconcileService}, and the delivery backstop: each tick wakes (and, on a
 * fresh server, starts) every shard's delivery workflow.
 */
public final class ReconcileActivitiesImpl implements ReconcileActivities {

  private final ReconcileService service;
  private final DeliveryWake delivery;
  private final PendingOutbox pending;

  /** What is still to deliver, for the tick's report. */
  @FunctionalInterface
  public interface PendingOutbox {
    int count();
  }

  public ReconcileActivitiesImpl(ReconcileService service, DeliveryWake delivery, PendingOutbox pending) {
    this.service = service;
    this.delivery = delivery;
    this.pending = pending;
  }

  @Override
  public List<String> bucketsToSweep(String onlyBucket) {
    return service.bucketsToSweep(onlyBucket);
  }

  @Override
  public BucketSweep sweepBucket(String bucketId) {
    Runnable heartbeat = Heartbeat.current();
    heartbeat.run();
    BucketSweep sweep = service.sweep(bucketId, progress -> heartbeat.run());
    // Transitions just written reach their targets now rather than at the next tick.
    if (sweep.clockLeaves() + sweep.maxDwellLeaves() + sweep.absenceJoins() > 0) delivery.all();
    return sweep;
  }

  @Override
  public int redispatchOutbox() {
    Heartbeat.current().run();
    delivery.all();
    return pending.count();
  }
}
