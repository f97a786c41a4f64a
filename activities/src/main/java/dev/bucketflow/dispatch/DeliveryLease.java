package dev.bucketflow.dispatch;

import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import org.jooq.DSLContext;

/**
 * One deliverer per shard at a time ({@code delivery_leases}). Expiry is kept in the database's
 * clock, so workers' clocks never compare; the holder measures its own validity from the moment it
 * <em>asked</em> (monotonic time), which can only be earlier than the moment the database stamped,
 * so the holder always believes its lease ends before the database does. It renews at half-life and
 * stops calling targets when renewal fails: a successor can take over only after the database saw
 * the lease expire, by which time the holder has stopped.
 *
 * <p>A renewal succeeds as long as nobody took the lease over (same token), even past expiry:
 * nobody delivered in between, so order is still intact.
 */
final class DeliveryLease {

  private final DSLContext dsl;
  private final int shard;
  private final String owner;
  private final long token;
  private final long lengthNanos;
  private long askedAt;

  private DeliveryLease(
      DSLContext dsl, int shard, String owner, long token, long lengthNanos, long askedAt) {
    this.dsl = dsl;
    this.shard = shard;
    this.owner = owner;
    this.token = token;
    this.lengthNanos = lengthNanos;
    this.askedAt = askedAt;
  }

  /** Takes the shard's lease if it is free or expired; empty when another deliverer holds it. */
  static Optional<DeliveryLease> acquire(DSLContext dsl, int shard, Duration length) {
    String owner = UUID.randomUUID().toString();
    long asked = System.nanoTime();
    Long token =
        dsl.resultQuery(
                """
        INSERT INTO delivery_leases (shard, owner, token, expires_at)
        VALUES (?, ?, 1, clock_timestamp() + make_interval(secs => ?))
        ON CONFLICT (shard) DO UPDATE
           SET owner = excluded.owner, token = delivery_leases.token + 1, expires_at = excluded.expires_at
         WHERE delivery_leases.expires_at < clock_timestamp()
        RETURNING token""",
                shard,
                owner,
                length.toMillis() / 1000.0)
            .fetchOptional(0, Long.class)
            .orElse(null);
    return token == null
        ? Optional.empty()
        : Optional.of(new DeliveryLease(dsl, shard, owner, token, length.toNanos(), asked));
  }

  /**
   * Whether targets may still be called for the next {@code need}: renews first when past
   * half-life. False once the lease is lost or could run out before {@code need} has passed.
   */
  boolean ensure(Duration need) {
    long now = System.nanoTime();
    if (now - askedAt > lengthNanos / 2 && !renew()) return false;
    return System.nanoTime() + need.toNanos() < askedAt + lengthNanos;
  }

  private boolean renew() {
    long asked = System.nanoTime();
    int renewed =
        dsl.query(
                """
        UPDATE delivery_leases SET expires_at = clock_timestamp() + make_interval(secs => ?)
         WHERE shard = ? AND owner = ? AND token = ?""",
                lengthNanos / 1e9,
                shard,
                owner,
                token)
            .execute();
    if (renewed == 1) askedAt = asked;
    return renewed == 1;
  }

  /** Frees the lease at once so the next pass (on any worker) need not wait for it to expire. */
  void release() {
    dsl.query(
            "UPDATE delivery_leases SET expires_at = clock_timestamp() - interval '1 millisecond'"
                + " WHERE shard = ? AND owner = ? AND token = ?",
            shard,
            owner,
            token)
        .execute();
  }
}
