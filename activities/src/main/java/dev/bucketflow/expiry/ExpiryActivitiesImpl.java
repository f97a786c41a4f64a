package dev.bucketflow.expiry;

import dev.bucketflow.dispatch.DeliveryWake;

import dev.bucketflow.activity.Heartbeat;

/** Activity face of {@link ExpiryService}; heartbeats as it starts its one transaction (see Liveness). */
public final class ExpiryActivitiesImpl implements ExpiryActivities {

  private final ExpiryService service;
  private final DeliveryWake delivery;

  public ExpiryActivitiesImpl(ExpiryService service, DeliveryWake delivery) {
    this.service = service;
    this.delivery = delivery;
  }

  @Override
  public ExpiryCheck leaveOrExtend(ExpiryRequest armed) {
    // One short transaction: a heartbeat at entry, so a worker that dies inside it is noticed
    // after the heartbeat timeout rather than the start-to-close timeout.
    Heartbeat.current().run();
    ExpiryCheck check = service.leaveOrExtend(armed);
    // The leave's transition reaches journeys now, not at the delivery shard's next poll.
    if (check.status() == ExpiryCheck.Status.LEFT) delivery.shardsOf(java.util.List.of(armed.userId()));
    return check;
  }
}
