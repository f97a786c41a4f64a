package dev.bucketflow.reconcile;

import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.activity.Heartbeat;
import java.util.List;

/** Activity face of {@link ReconcileService} and the outbox backstop. */
public final class ReconcileActivitiesImpl implements ReconcileActivities {

  private final ReconcileService service;
  private final OutboxDispatcher dispatcher;

  public ReconcileActivitiesImpl(ReconcileService service, OutboxDispatcher dispatcher) {
    this.service = service;
    this.dispatcher = dispatcher;
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
    dispatcher.drain(heartbeat);
    return sweep;
  }

  @Override
  public int redispatchOutbox() {
    return dispatcher.drain(Heartbeat.current());
  }
}
