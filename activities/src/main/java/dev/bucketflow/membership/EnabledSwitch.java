package dev.bucketflow.membership;

import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The run-time kill switch, {@code bucket_configs.enabled}, read through a per-process cache that
 * refreshes at most once per TTL, never per event. A bucket without a row is enabled.
 */
public final class EnabledSwitch {

  private static final Logger log = LoggerFactory.getLogger(EnabledSwitch.class);

  private final DSLContext dsl;
  private final Duration ttl;
  private final Clock clock;
  private volatile Map<String, Boolean> enabled = Map.of();
  private volatile Instant loadedAt = Instant.MIN;
  private long refreshes;

  public EnabledSwitch(DSLContext dsl, Duration ttl, Clock clock) {
    this.dsl = dsl;
    this.ttl = ttl;
    this.clock = clock;
  }

  /**
   * Never waits for a pooled connection once loaded: callers run inside transactions that hold one,
   * and a synchronous refresh would wait for a second (with the pool exhausted, for the pool's
   * timeout). A stale cache is refreshed on a background thread while the last known switches
   * answer; only the first load, and a zero TTL (tests, one-shot commands), read in the caller's
   * thread.
   */
  public boolean isEnabled(String bucketId) {
    Instant now = clock.instant();
    if (ttl.isZero() || loadedAt.equals(Instant.MIN)) {
      refresh(now);
    } else if (loadedAt.plus(ttl).isBefore(now) && refreshing.compareAndSet(false, true)) {
      Thread t =
          new Thread(
              () -> {
                try {
                  refresh(clock.instant());
                } finally {
                  refreshing.set(false);
                }
              },
              "enabled-switch-refresh");
      t.setDaemon(true);
      t.start();
    }
    return enabled.getOrDefault(bucketId, true);
  }

  private final java.util.concurrent.atomic.AtomicBoolean refreshing =
      new java.util.concurrent.atomic.AtomicBoolean();

  private synchronized void refresh(Instant now) {
    if (!loadedAt.plus(ttl).isBefore(now) && !ttl.isZero()) return;
    try {
      enabled =
          dsl.select(BUCKET_CONFIGS.BUCKET_ID, BUCKET_CONFIGS.ENABLED)
              .from(BUCKET_CONFIGS)
              .fetchMap(BUCKET_CONFIGS.BUCKET_ID, BUCKET_CONFIGS.ENABLED);
      refreshes++;
    } catch (RuntimeException e) {
      log.warn("cannot refresh bucket_configs; keeping the last known switches", e);
    }
    loadedAt = now;
  }

  /** How many times the table was read; lets tests prove there is no per-event read. */
  public synchronized long refreshes() {
    return refreshes;
  }
}
