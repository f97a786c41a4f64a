package dev.bucketflow.backfill;

import dev.bucketflow.bucket.BackfillStatus;

/**
 * Answer of the {@code progress} query: contacts walked out of {@code totals}, joins and leaves so
 * far, and {@code status} ({@link BackfillStatus#OPENING} before the job row is read).
 */
public record BackfillProgress(
    long processed, long totals, long joined, long left, BackfillStatus status) {

  public static BackfillProgress opening() {
    return new BackfillProgress(0, 0, 0, 0, BackfillStatus.OPENING);
  }

  public static BackfillProgress of(BackfillJob job) {
    return new BackfillProgress(
        job.processed(), job.totals(), job.joined(), job.left(), job.status());
  }

  public BackfillProgress after(ChunkResult chunk) {
    return new BackfillProgress(
        chunk.processed(),
        chunk.totals(),
        joined + chunk.joined(),
        left + chunk.left(),
        BackfillStatus.RUNNING);
  }

  public BackfillProgress withStatus(BackfillStatus newStatus) {
    return new BackfillProgress(processed, totals, joined, left, newStatus);
  }
}
