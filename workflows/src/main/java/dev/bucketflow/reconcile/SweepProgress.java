package dev.bucketflow.reconcile;

/**
 * A bounded part of a bucket's sweep, as far as it got: the cursor to go on from ({@code done()}
 * when the sweep is over) and what the part changed. Also the part's heartbeat detail, so a retried
 * attempt resumes at {@code next} with the counts of the chunks already committed.
 */
public record SweepProgress(SweepCursor next, BucketSweep counts) {

  public static SweepProgress start(String bucketId, SweepCursor from) {
    return new SweepProgress(from, BucketSweep.zero(bucketId));
  }

  public boolean done() {
    return next.done();
  }
}
