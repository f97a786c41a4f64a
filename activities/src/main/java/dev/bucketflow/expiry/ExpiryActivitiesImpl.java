package dev.bucketflow.expiry;

import dev.bucketflow.activity.Heartbeat;
import dev.bucketflow.dispatch.DeliveryWake;
import dev.bucketflow.membership.DeadlineSignals;
import java.util.List;

/**
 * Activity face of {@link ExpiryService}; heartbeats as it starts its one transaction (see
 * Liveness).
 */
public final class ExpiryActivitiesImpl implements ExpiryActivities {

  private final ExpiryService service;
  private final DeliveryWake delivery;
  private final DeadlineSignals watches;

  public ExpiryActivitiesImpl(
      ExpiryService service, DeliveryWake delivery, DeadlineSignals watches) {
    this.service = service;
    this.delivery = delivery;
    this.watches = watches;
  }

  @Override
  public ExpiryCheck leaveOrExtend(ExpiryRequest armed) {
    // One short transaction: a heartbeat at entry, so a worker that dies inside it is noticed
    // after the heartbeat timeout rather than the start-to-close timeout.
    Heartbeat.current().run();
    ExpiryService.Decision decision = service.decide(armed);
    ExpiryCheck check = decision.check();
    // A transition reaches journeys now, not at the delivery shard's next poll.
    if (decision.transitioned()) delivery.shardsOf(List.of(armed.userId()));
    // After the commit, never under the row locks: the next epoch's join watch (best effort; a
    // lost one makes the join wait for the reconcile tick).
    decision.nextJoinWatch().ifPresent(next -> watches.deadlinesMoved(List.of(next)));
    return check;
  }
}
