package dev.bucketflow.reconcile;

import dev.bucketflow.event.StorageMaintenance;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;
import java.util.List;

@ActivityInterface
public interface ReconcileActivities {

  /** Enabled time-based buckets (or just {@code onlyBucket}); read-only. */
  @ActivityMethod(name = "ReconcileBuckets")
  List<String> bucketsToSweep(String onlyBucket);

  /**
   * Sweeps one bucket set-based and chunked, whole, heartbeating its cursor (the shape before
   * {@code resumable-sweep}; still served for runs recorded with it). Idempotent: every change is a
   * compare-and-swap on the membership row (a retried chunk finds nothing left to change) and
   * transitions are keyed by (bucket, user, kind, epoch).
   */
  @ActivityMethod(name = "ReconcileBucket")
  BucketSweep sweepBucket(String bucketId);

  /**
   * One bounded part of a bucket's sweep (at most a budget of chunks or seconds) from {@code
   * step.from()}: returns where to go on and what this part changed; the workflow calls again until
   * {@link SweepProgress#done()}. Heartbeats a {@link SweepProgress} per chunk, and a retried
   * attempt resumes from the last one instead of from {@code step.from()}.
   */
  @ActivityMethod(name = "ReconcileBucketPart")
  SweepProgress sweepBucketPart(SweepStep step);

  /** Re-dispatches outbox rows left undispatched (crash between commit and dispatch). */
  @ActivityMethod(name = "RedispatchOutbox")
  int redispatchOutbox();

  /**
   * One pass of event-storage maintenance: day partitions of {@code user_events} created ahead,
   * those past the retention dropped, stray rows and old idempotency keys deleted. Idempotent: a
   * pass converges on the partitions the clock and the retention call for, so a retry or a second
   * worker's pass finds nothing left to do.
   */
  @ActivityMethod(name = "MaintainEventStorage")
  StorageMaintenance maintainEventStorage();
}
