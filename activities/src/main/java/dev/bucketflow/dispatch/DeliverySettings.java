package dev.bucketflow.dispatch;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How delivery retries, parks and paces itself.
 *
 * @param maxAttempts failed attempts after which a row is parked (set aside with its last error, no
 *     longer blocking its user's later rows); with the defaults about 90 minutes of retrying, so an
 *     hour-long outage of a target is ridden out
 * @param initialBackoff wait after the first failure; doubles per failure, capped at {@code
 *     maxBackoff}
 * @param maxBackoff longest wait between two attempts of a row
 * @param lease how long a shard's lease lasts without renewal (a dead deliverer's successor waits
 *     at most this long); renewed at half-life, target calls stop before it could run out
 * @param passBudget longest time one pass (one activity attempt) delivers before it returns
 * @param pageSize rows read per query
 * @param poll longest wait of a delivery workflow between passes without a wake-up
 * @param yieldToIngest longest pause before each row (and each step call) of a pass while an ingest
 *     batch runs in the same worker; a pause lasts as long as the work since the previous one
 *     ({@link DeliveryYield}); zero never pauses
 */
public record DeliverySettings(
    int maxAttempts,
    Duration initialBackoff,
    Duration maxBackoff,
    Duration lease,
    Duration passBudget,
    int pageSize,
    Duration poll,
    Duration yieldToIngest) {

  public static final String MAX_ATTEMPTS_ENV = "BUCKETFLOW_DELIVERY_MAX_ATTEMPTS";
  public static final String INITIAL_BACKOFF_ENV = "BUCKETFLOW_DELIVERY_BACKOFF";
  public static final String MAX_BACKOFF_ENV = "BUCKETFLOW_DELIVERY_MAX_BACKOFF";
  public static final String POLL_ENV = "BUCKETFLOW_DELIVERY_POLL";
  public static final String YIELD_ENV = "BUCKETFLOW_DELIVERY_YIELD";

  /** Longest {@link #yieldToIngest}: a pause is a yield, not a schedule. */
  public static final Duration MAX_YIELD = Duration.ofSeconds(1);

  public static final DeliverySettings DEFAULTS =
      new DeliverySettings(
          25,
          Duration.ofSeconds(1),
          Duration.ofMinutes(5),
          Duration.ofSeconds(10),
          Duration.ofSeconds(20),
          500,
          Duration.ofSeconds(15),
          Duration.ofMillis(20));

  public DeliverySettings {
    Objects.requireNonNull(initialBackoff, "initialBackoff");
    Objects.requireNonNull(maxBackoff, "maxBackoff");
    Objects.requireNonNull(lease, "lease");
    Objects.requireNonNull(passBudget, "passBudget");
    if (maxAttempts < 1)
      throw new IllegalArgumentException(
          MAX_ATTEMPTS_ENV + ": must be at least 1, got " + maxAttempts);
    if (initialBackoff.isNegative() || initialBackoff.isZero()) {
      throw new IllegalArgumentException(
          INITIAL_BACKOFF_ENV + ": must be positive, got " + initialBackoff);
    }
    if (maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException(
          MAX_BACKOFF_ENV + ": must be at least " + INITIAL_BACKOFF_ENV + ", got " + maxBackoff);
    }
    if (lease.toMillis() < 1000)
      throw new IllegalArgumentException("lease: must be at least 1 s, got " + lease);
    if (passBudget.isNegative() || passBudget.isZero())
      throw new IllegalArgumentException("passBudget: must be positive");
    if (pageSize < 1) throw new IllegalArgumentException("pageSize: must be positive");
    Objects.requireNonNull(poll, "poll");
    if (poll.toMillis() < 100)
      throw new IllegalArgumentException(POLL_ENV + ": must be at least 100 ms, got " + poll);
    Objects.requireNonNull(yieldToIngest, "yieldToIngest");
    if (yieldToIngest.isNegative() || yieldToIngest.compareTo(MAX_YIELD) > 0)
      throw new IllegalArgumentException(
          YIELD_ENV + ": must be 0 to " + MAX_YIELD.toMillis() + " ms, got " + yieldToIngest);
  }

  /**
   * Reads the retry and poll variables (durations as ISO-8601 or plain seconds); the rest are
   * defaults.
   */
  public static DeliverySettings fromEnv(Map<String, String> env) {
    DeliverySettings d = DEFAULTS;
    int attempts = d.maxAttempts();
    String raw = env.get(MAX_ATTEMPTS_ENV);
    if (raw != null && !raw.isBlank()) {
      try {
        attempts = Integer.parseInt(raw.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(MAX_ATTEMPTS_ENV + ": not a number: " + raw);
      }
    }
    return new DeliverySettings(
        attempts,
        duration(env, INITIAL_BACKOFF_ENV, d.initialBackoff()),
        duration(env, MAX_BACKOFF_ENV, d.maxBackoff()),
        d.lease(),
        d.passBudget(),
        d.pageSize(),
        duration(env, POLL_ENV, d.poll()),
        duration(env, YIELD_ENV, d.yieldToIngest()));
  }

  /** Fast retries and a quick park, for tests of failure handling. */
  public DeliverySettings withRetries(int attempts, Duration initial, Duration max) {
    return new DeliverySettings(
        attempts, initial, max, lease, passBudget, pageSize, poll, yieldToIngest);
  }

  public DeliverySettings withPoll(Duration every) {
    return new DeliverySettings(
        maxAttempts, initialBackoff, maxBackoff, lease, passBudget, pageSize, every, yieldToIngest);
  }

  public DeliverySettings withYieldToIngest(Duration pause) {
    return new DeliverySettings(
        maxAttempts, initialBackoff, maxBackoff, lease, passBudget, pageSize, poll, pause);
  }

  private static Duration duration(Map<String, String> env, String name, Duration fallback) {
    String raw = env.get(name);
    if (raw == null || raw.isBlank()) return fallback;
    String s = raw.trim();
    try {
      return dev.bucketflow.bucket.Durations.ofSetting(s);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(name + ": not a duration (PT30S or seconds): " + raw);
    }
  }

  /** Wait before attempt {@code failures + 1}: initial × 2^(failures − 1), capped. */
  public Duration backoffAfter(int failures) {
    long cap = maxBackoff.toMillis();
    long ms = initialBackoff.toMillis();
    for (int i = 1; i < failures && ms < cap; i++) ms = Math.min(cap, ms * 2);
    return Duration.ofMillis(Math.min(ms, cap));
  }
}
