package dev.bucketflow.membership;

import static dev.bucketflow.schema.Tables.BUCKET_BACKFILL_JOBS;
import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;

import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;
import org.jooq.DSLContext;

/**
 * Whether a bucket's first-time backfill is behind it: what clock joins and dependents' backfills
 * wait for.
 */
public final class FirstBackfill {

  private FirstBackfill() {}

  /** A recorded criteria hash (a completed backfill), or no first-time job running. */
  public static boolean done(DSLContext dsl, String bucketId) {
    var c = BUCKET_CONFIGS;
    if (dsl.fetchExists(c, c.BUCKET_ID.eq(bucketId).and(c.CRITERIA_HASH.isNotNull()))) return true;
    var j = BUCKET_BACKFILL_JOBS;
    return !dsl.fetchExists(
        j,
        j.BUCKET_ID
            .eq(bucketId)
            .and(j.KIND.eq(BackfillKind.FIRST_TIME))
            .and(j.STATUS.eq(BackfillStatus.RUNNING)));
  }
}
