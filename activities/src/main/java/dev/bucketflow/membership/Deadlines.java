package dev.bucketflow.membership;

import dev.bucketflow.bucket.BucketDefinition;
import java.time.Instant;
import org.jooq.DSLContext;

/** When a member's row next needs looking at. */
public final class Deadlines {

  private Deadlines() {}

  /**
   * The deadline a fast-expiry watch sleeps toward: the earlier of {@code expires_at} and {@code
   * max_dwell_at}.
   */
  public static Instant earliest(Instant expiresAt, Instant maxDwellAt) {
    if (expiresAt == null) return maxDwellAt;
    if (maxDwellAt == null) return expiresAt;
    return expiresAt.isBefore(maxDwellAt) ? expiresAt : maxDwellAt;
  }

  /** The earliest of three instants, nulls ignored; null when all are. */
  public static Instant earliest(Instant a, Instant b, Instant c) {
    return earliest(earliest(a, b), c);
  }

  /**
   * The instant the fast-expiry watch of an active row sleeps toward: its leave deadline or its
   * next dwell event ({@link DwellEvents}), whichever comes first; null when there is neither.
   */
  public static Instant watch(
      DSLContext dsl,
      BucketDefinition bucket,
      Instant expiresAt,
      Instant maxDwellAt,
      Instant enteredAt,
      long dwellDoneMs) {
    Instant dwellAt =
        bucket.hasDwellEvents()
            ? DwellEvents.nextAt(
                bucket, enteredAt, dwellDoneMs, DwellEvents.since(dsl, bucket.id()))
            : null;
    return earliest(expiresAt, maxDwellAt, dwellAt);
  }
}
