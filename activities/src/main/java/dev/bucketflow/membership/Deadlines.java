package dev.bucketflow.membership;

import java.time.Instant;

/** When a member's row next needs looking at. */
public final class Deadlines {

  private Deadlines() {}

  /** The deadline a fast-expiry watch sleeps toward: the earlier of {@code expires_at} and {@code max_dwell_at}. */
  public static Instant earliest(Instant expiresAt, Instant maxDwellAt) {
    if (expiresAt == null) return maxDwellAt;
    if (maxDwellAt == null) return expiresAt;
    return expiresAt.isBefore(maxDwellAt) ? expiresAt : maxDwellAt;
  }
}
