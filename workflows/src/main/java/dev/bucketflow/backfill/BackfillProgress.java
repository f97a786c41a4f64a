package dev.bucketflow.backfill;

/**
 * Answer of the {@code progress} query: contacts walked out of {@code totals}, joins and leaves
 * so far, and {@code status} — {@code opening} (before the job row is read), {@code running},
 * {@code completed} or {@code failed}.
 */
public record BackfillProgress(long processed, long totals, long joined, long left, String status) {

  public static final String OPENING = "opening";

  public static BackfillProgress opening() {
    return new BackfillProgress(0, 0, 0, 0, OPENING);
  }

  public static BackfillProgress of(BackfillJob job) {
    return new BackfillProgress(job.processed(), job.totals(), job.joined(), job.left(), job.status());
  }

  public BackfillProgress after(ChunkResult chunk) {
    return new BackfillProgress(chunk.processed(), chunk.totals(), joined + chunk.joined(), left + chunk.left(),
        BackfillJob.RUNNING);
  }

  public BackfillProgress withStatus(String newStatus) {
    return new BackfillProgress(processed, totals, joined, left, newStatus);
  }
}
