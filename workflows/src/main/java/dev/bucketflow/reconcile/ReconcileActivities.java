package dev.bucketflow.reconcile;

import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;
import java.util.List;

@ActivityInterface
public interface ReconcileActivities {

  /** Enabled time-based buckets (or just {@code onlyBucket}); read-only. */
  @ActivityMethod(name = "ReconcileBuckets")
  List<String> bucketsToSweep(String onlyBucket);

  /**
   * Sweeps one bucket set-based and chunked, heartbeating its cursor. Idempotent: every change is
   * a compare-and-swap on the membership row (a retried chunk finds nothing left to change) and
   * transitions are keyed by (bucket, user, kind, epoch).
   */
  @ActivityMethod(name = "ReconcileBucket")
  BucketSweep sweepBucket(String bucketId);

  /** Re-dispatches outbox rows left undispatched (crash between commit and dispatch). */
  @ActivityMethod(name = "RedispatchOutbox")
  int redispatchOutbox();
}
