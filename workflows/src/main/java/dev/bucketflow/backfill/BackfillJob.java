package dev.bucketflow.backfill;

import java.util.Locale;

/**
 * One row of {@code bucket_backfill_jobs}: the job of bringing bucket {@code bucketId}'s
 * memberships in line with the criteria fingerprinted {@code criteriaHash}. The row, not the
 * workflow, holds the progress ({@code cursorUser} is the last contact id processed, null before
 * the first chunk), so a restarted or continued-as-new workflow resumes where the row says.
 *
 * @param kind {@code first_time} or {@code reeval} (see {@link Kind#db()})
 * @param status {@code running}, {@code completed} or {@code failed}
 * @param totals live contacts when the job was opened (an estimate while running; set to
 *     {@code processed} when the walk ends)
 */
public record BackfillJob(long id, String bucketId, String criteriaHash, String kind, String status, long totals,
    long processed, long joined, long left, String cursorUser) {

  public static final String RUNNING = "running";
  public static final String COMPLETED = "completed";
  public static final String FAILED = "failed";

  /** What a job does (DESIGN §9). */
  public enum Kind {
    /** A new bucket: insert every matching live contact, {@code source=backfill}, no join events. */
    FIRST_TIME,
    /** Changed criteria: members that no longer match leave with emission; new matchers join silently. */
    REEVAL;

    /** The {@code bucket_backfill_jobs.kind} spelling: {@code first_time} / {@code reeval}. */
    public String db() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Kind fromDb(String value) {
      for (Kind k : values()) {
        if (k.db().equals(value)) return k;
      }
      throw new IllegalArgumentException("kind: expected first_time or reeval, got '" + value + "'");
    }
  }

  public Kind jobKind() {
    return Kind.fromDb(kind);
  }

  public boolean running() {
    return RUNNING.equals(status);
  }

  public boolean completed() {
    return COMPLETED.equals(status);
  }
}
