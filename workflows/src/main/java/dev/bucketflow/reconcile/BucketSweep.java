package dev.bucketflow.reconcile;

/** What one reconcile sweep did to one bucket. {@code error} is set when the sweep failed. */
public record BucketSweep(
    String bucketId,
    int clockLeaves,
    int maxDwellLeaves,
    int deferred,
    int absenceJoins,
    boolean joinsSkipped,
    int expiryRearmed,
    String error) {

  public static BucketSweep failed(String bucketId, String error) {
    return new BucketSweep(bucketId, 0, 0, 0, 0, false, 0, error);
  }

  public static BucketSweep zero(String bucketId) {
    return new BucketSweep(bucketId, 0, 0, 0, 0, false, 0, null);
  }

  /** The sum of two parts' counts of one bucket ({@code joinsSkipped} if either skipped). */
  public BucketSweep plus(BucketSweep other) {
    return new BucketSweep(
        bucketId,
        clockLeaves + other.clockLeaves,
        maxDwellLeaves + other.maxDwellLeaves,
        deferred + other.deferred,
        absenceJoins + other.absenceJoins,
        joinsSkipped || other.joinsSkipped,
        expiryRearmed + other.expiryRearmed,
        error != null ? error : other.error);
  }

  /** These counts, marked failed with {@code error} (the parts before the failure stay counted). */
  public BucketSweep withError(String error) {
    return new BucketSweep(
        bucketId,
        clockLeaves,
        maxDwellLeaves,
        deferred,
        absenceJoins,
        joinsSkipped,
        expiryRearmed,
        error);
  }
}
