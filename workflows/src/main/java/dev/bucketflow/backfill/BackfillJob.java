package dev.bucketflow.backfill;

import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;

/**
 * One row of {@code bucket_backfill_jobs}: the job of bringing bucket {@code bucketId}'s
 * memberships in line with the criteria fingerprinted {@code criteriaHash}. The row, not the
 * workflow, holds the progress ({@code cursorUser} is the last contact id processed, null before
 * the first chunk), so a restarted or continued-as-new workflow resumes where the row says.
 *
 * @param totals live contacts when the job was opened (an estimate while running; set to {@code
 *     processed} when the walk ends)
 */
public record BackfillJob(
    long id,
    String bucketId,
    String criteriaHash,
    BackfillKind kind,
    BackfillStatus status,
    long totals,
    long processed,
    long joined,
    long left,
    String cursorUser) {

  public boolean running() {
    return status == BackfillStatus.RUNNING;
  }

  public boolean completed() {
    return status == BackfillStatus.COMPLETED;
  }
}
