package dev.bucketflow.backfill;

import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/** The steps of a backfill job; every step is safe to retry and to run from any worker. */
@ActivityInterface
public interface BackfillActivities {

  /**
   * Creates the job row for (bucket, criteria hash) or returns the existing one. Idempotent: the
   * row is unique on (bucket_id, criteria_hash) and created with {@code ON CONFLICT DO NOTHING}, so
   * a retry, a second worker or a continued-as-new run all get the same row and resume from its
   * cursor. A {@code failed} job is set back to {@code running} (resumed, not restarted).
   */
  @ActivityMethod(name = "BackfillOpen")
  BackfillJob open(BackfillRequest request);

  /**
   * Processes the next chunk of live contacts after the job's cursor. Idempotent: the chunk's
   * joins, leaves, outbox rows and the cursor advance commit in one transaction under a lock on the
   * job row, so a chunk either happened entirely (a retry sees the advanced cursor and does the
   * next chunk) or not at all (a retry redoes it); joins are also {@code ON CONFLICT DO NOTHING}
   * and leaves compare-and-swap. On a job no longer running it changes nothing and reports done.
   */
  @ActivityMethod(name = "BackfillChunk")
  ChunkResult runChunk(long jobId);

  /**
   * Marks the job completed and records its hash in {@code bucket_configs.criteria_hash}, in one
   * transaction. Idempotent: only a {@code running} job changes, so a retry after success writes
   * nothing (and never overwrites a newer hash).
   */
  @ActivityMethod(name = "BackfillComplete")
  void complete(long jobId);

  /**
   * Marks the job failed with {@code error}. Idempotent: only a {@code running} job changes; the
   * cursor is kept so a later {@link #open} resumes it.
   */
  @ActivityMethod(name = "BackfillFail")
  void fail(long jobId, String error);
}
