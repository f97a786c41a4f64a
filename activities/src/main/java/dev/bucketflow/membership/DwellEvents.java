package dev.bucketflow.membership;

import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.Durations;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.Collectors;
import org.jooq.DSLContext;

/**
 * When a member's dwell events fall due (issue 12 item 4). Threshold {@code d} of an epoch fires
 * once, at {@code entered_at + d}, if the member is still in that epoch then, and only if that
 * instant is at or after the bucket's {@code dwell_since} (the deploy of its current dwell list):
 * members who had stayed longer before the list existed get none. {@code dwell_done_ms} on the row
 * is the largest threshold already fired; moving it forward is the claim.
 */
public final class DwellEvents {

  private DwellEvents() {}

  /** One due dwell event: the epoch's member, the threshold, the instant it was reached. */
  public record Due(String userId, int epoch, Duration after, Instant at) {
    public String eventName(String bucketId) {
      return "bucket:dwell:" + bucketId;
    }

    /** Deterministic, per user: {@code bucket:<id>:<userId>:dwell:<epoch>:<after>}. */
    public String idempotencyKey(String bucketId) {
      return "bucket:" + bucketId + ":" + userId + ":dwell:" + epoch + ":" + Durations.iso(after);
    }
  }

  /**
   * The list as {@code bucket_configs.dwell} stores it: ISO durations, ascending, comma-separated.
   */
  public static String spelling(BucketDefinition bucket) {
    return bucket.dwell().stream().map(Durations::iso).collect(Collectors.joining(","));
  }

  /**
   * The next threshold of an epoch that entered at {@code enteredAt}: above {@code doneMs}, reached
   * at or after {@code since}.
   */
  public static Optional<Duration> next(
      BucketDefinition bucket, Instant enteredAt, long doneMs, Instant since) {
    for (Duration d : bucket.dwell()) {
      if (d.toMillis() > doneMs && !enteredAt.plus(d).isBefore(since)) return Optional.of(d);
    }
    return Optional.empty();
  }

  /** The instant of {@link #next}, or null when no dwell event is left for the epoch. */
  public static Instant nextAt(
      BucketDefinition bucket, Instant enteredAt, long doneMs, Instant since) {
    return next(bucket, enteredAt, doneMs, since).map(enteredAt::plus).orElse(null);
  }

  /** The bucket's {@code dwell_since}; the epoch (nothing excluded) when its row is missing. */
  public static Instant since(DSLContext dsl, String bucketId) {
    var c = BUCKET_CONFIGS;
    return dsl.select(c.DWELL_SINCE)
        .from(c)
        .where(c.BUCKET_ID.eq(bucketId))
        .fetchOptional(c.DWELL_SINCE)
        .orElse(Instant.EPOCH);
  }
}
