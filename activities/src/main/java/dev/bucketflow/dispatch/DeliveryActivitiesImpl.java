package dev.bucketflow.dispatch;

import dev.bucketflow.activity.Heartbeat;
import dev.bucketflow.delivery.DeliveryActivities;
import dev.bucketflow.delivery.DeliveryPass;

/**
 * Activity face of {@link OutboxDispatcher}: one pass, heartbeating per row (see
 * DeliveryActivities).
 */
public final class DeliveryActivitiesImpl implements DeliveryActivities {

  private final OutboxDispatcher dispatcher;

  public DeliveryActivitiesImpl(OutboxDispatcher dispatcher) {
    this.dispatcher = dispatcher;
  }

  @Override
  public DeliveryPass deliver(int shard, int shards) {
    return dispatcher.deliver(shard, shards, Heartbeat.current());
  }
}
