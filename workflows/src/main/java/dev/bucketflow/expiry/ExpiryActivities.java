package dev.bucketflow.expiry;

import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

@ActivityInterface
public interface ExpiryActivities {

  /**
   * At the armed deadline: leave the member if the criteria no longer hold (or maxDwell ran out),
   * else stamp and return the next deadline. Idempotent: it locks the row of that exact epoch; a
   * row no longer active returns GONE, and a row whose deadline moved returns the new deadline
   * without evaluating — a retry or a stale timer changes nothing.
   */
  @ActivityMethod(name = "LeaveOrExtend")
  ExpiryCheck leaveOrExtend(ExpiryRequest armed);
}
