package dev.bucketflow.reconcile;

/** What one reconcile sweep did to one bucket. {@code error} is set when the sweep failed. */
public record BucketSweep(
    String bucketId, int clockLeaves, int maxDwellLeaves, int deferred, int absenceJoins, boolean joinsSkipped,
    int expiryRearmed, String error) {

  public static BucketSweep failed(String bucketId, String error) {
    return new BucketSweep(bucketId, 0, 0, 0, 0, false, 0, error);
  }
}
