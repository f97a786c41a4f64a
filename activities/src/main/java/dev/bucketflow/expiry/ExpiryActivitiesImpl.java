package dev.bucketflow.expiry;

import dev.bucketflow.activity.Heartbeat;

/** Activity face of {@link ExpiryService}; heartbeats as it starts its one transaction (see Liveness). */
public final class ExpiryActivitiesImpl implements ExpiryActivities {

  private final ExpiryService service;

  public ExpiryActivitiesImpl(ExpiryService service) {
    this.service = service;
  }

  @Override
  public ExpiryCheck leaveOrExtend(ExpiryRequest armed) {
    // One short transaction: a heartbeat at entry, so a worker that dies inside it is noticed
    // after the heartbeat timeout rather than the start-to-close timeout.
    Heartbeat.current().run();
    return service.leaveOrExtend(armed);
  }
}
