package dev.bucketflow.delivery;

import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

@ActivityInterface
public interface DeliveryActivities {

  /**
   * One bounded pass over the shard's due rows under the shard's lease. Idempotent: every target is
   * (journey starts are recorded by trigger key and checked against the server, arming and mirror
   * states are keyed by epoch), and a row is marked done only after its targets answered, so a
   * retried or overlapping pass re-delivers at most what it cannot prove done.
   */
  @ActivityMethod(name = "DeliverOutbox")
  DeliveryPass deliver(int shard, int shards);
}
