package dev.bucketflow.event;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.ToLongFunction;
import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code user_events}' partitions: one per UTC day, named {@code user_events_pYYYYMMDD},
 * created for yesterday, today and {@code daysAhead} days ahead; a partition whose whole range is
 * older than the retention is dropped, never deleted row by row. Rows the {@code DEFAULT} partition
 * took (their day had no partition yet: a worker down for days, or an event dated before every kept
 * day) move into their day's partition when it is created, and are deleted once past the retention.
 * Idempotency keys received before the retention are pruned with them: the deduplication window is
 * the retention.
 *
 * <p>Every step is its own short transaction under one advisory lock (two workers never create or
 * drop at once; each re-reads the partitions inside it) with a lock timeout: creating attaches a
 * table (SHARE UPDATE EXCLUSIVE on the parent, which does not block ingest), dropping needs ACCESS
 * EXCLUSIVE, and a step that cannot get it in time is skipped until the next pass rather than
 * queueing ingest behind it. Idempotent: each pass converges on the same partitions.
 */
public final class EventPartitions {

  private static final Logger log = LoggerFactory.getLogger(EventPartitions.class);

  /** The advisory lock of every maintenance step ("bktevent"). */
  private static final long LOCK_KEY = 0x626b746576656e74L;

  private static final String PREFIX = "user_events_p";
  private static final DateTimeFormatter DAY =
      DateTimeFormatter.ofPattern("yyyyMMdd").withZone(ZoneOffset.UTC);
  private static final int KEY_BATCH = 10_000;
  private static final String LOCK_NOT_AVAILABLE = "55P03";

  private final DSLContext dsl;
  private final Clock clock;
  private final Duration retention;
  private final int daysAhead;
  private final Duration lockTimeout;

  public EventPartitions(DSLContext dsl, Clock clock, Duration retention, int daysAhead) {
    this(dsl, clock, retention, daysAhead, Duration.ofSeconds(2));
  }

  public EventPartitions(
      DSLContext dsl, Clock clock, Duration retention, int daysAhead, Duration lockTimeout) {
    if (retention.isNegative() || retention.isZero())
      throw new IllegalArgumentException("retention must be positive");
    this.dsl = dsl;
    this.clock = clock;
    this.retention = retention;
    this.daysAhead = daysAhead;
    this.lockTimeout = lockTimeout;
  }

  /**
   * The maintenance for a worker's enabled {@code buckets}: the retention in force is {@code
   * settings}' value raised to their widest finite window (with a warning), or that window plus the
   * default margin.
   */
  public static EventPartitions forBuckets(
      DSLContext dsl,
      Clock clock,
      EventRetention settings,
      java.util.Collection<dev.bucketflow.bucket.BucketDefinition> buckets) {
    Duration widest =
        dev.bucketflow.bucket.BucketRegistry.widestFiniteWindowByEvent(buckets).values().stream()
            .max(java.util.Comparator.naturalOrder())
            .orElse(Duration.ZERO);
    if (settings.raisedBy(widest)) {
      log.warn(
          "{} = {} is shorter than the widest window of an enabled bucket ({}): keeping events for {}",
          EventRetention.ENV,
          settings.configured().orElseThrow(),
          widest,
          widest);
    }
    return new EventPartitions(dsl, clock, settings.effective(widest), settings.daysAhead());
  }

  public Duration retention() {
    return retention;
  }

  /**
   * A partition of {@code user_events}.
   *
   * @param lower empty for {@code MINVALUE} (and the default partition)
   * @param upper empty for {@code MAXVALUE} (and the default partition)
   */
  public record Partition(
      String name, boolean isDefault, Optional<Instant> lower, Optional<Instant> upper) {
    boolean overlaps(Instant from, Instant to) {
      return !isDefault
          && lower.map(l -> l.isBefore(to)).orElse(true)
          && upper.map(u -> u.isAfter(from)).orElse(true);
    }
  }

  /** The partitions as the catalog has them (bounds parsed back by PostgreSQL itself). */
  public static List<Partition> partitions(DSLContext tx) {
    return tx.fetch(
            """
        select c.relname, b = 'DEFAULT',
          (regexp_match(b, 'FROM \\(''([^'']*)''\\)'))[1]::timestamptz,
          (regexp_match(b, 'TO \\(''([^'']*)''\\)'))[1]::timestamptz
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        cross join lateral pg_get_expr(c.relpartbound, c.oid) as b
        where i.inhparent = 'user_events'::regclass
        order by 1
        """)
        .map(
            r ->
                new Partition(
                    r.get(0, String.class),
                    r.get(1, Boolean.class),
                    Optional.ofNullable(r.get(2, java.time.OffsetDateTime.class))
                        .map(java.time.OffsetDateTime::toInstant),
                    Optional.ofNullable(r.get(3, java.time.OffsetDateTime.class))
                        .map(java.time.OffsetDateTime::toInstant)));
  }

  /** One maintenance pass at the clock's instant. */
  public StorageMaintenance maintain() {
    return maintain(() -> {});
  }

  /**
   * As {@link #maintain()}, calling {@code heartbeat} before every step (an activity's liveness).
   */
  public StorageMaintenance maintain(Runnable heartbeat) {
    Instant now = clock.instant();
    Instant cutoff = now.minus(retention);
    List<String> created = new ArrayList<>();
    List<String> dropped = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    long moved = 0;
    Instant today = now.truncatedTo(ChronoUnit.DAYS);
    for (Instant day = today.minus(1, ChronoUnit.DAYS);
        !day.isAfter(today.plus(daysAhead, ChronoUnit.DAYS));
        day = day.plus(1, ChronoUnit.DAYS)) {
      Instant from = day;
      Instant to = day.plus(1, ChronoUnit.DAYS);
      if (!to.isAfter(cutoff)) continue; // would be dropped at once
      String name = PREFIX + DAY.format(from);
      long rows = step(heartbeat, "create " + name, skipped, tx -> create(tx, name, from, to));
      if (rows >= 0) {
        created.add(name);
        moved += rows;
      }
    }
    for (Partition p : partitions(dsl)) {
      if (p.isDefault() || p.upper().isEmpty() || p.upper().get().isAfter(cutoff)) continue;
      long done = step(heartbeat, "drop " + p.name(), skipped, tx -> drop(tx, p.name(), cutoff));
      if (done > 0) dropped.add(p.name());
    }
    long strays =
        Math.max(
            0,
            step(
                heartbeat,
                "delete strays",
                skipped,
                tx ->
                    tx.execute(
                        "delete from user_events_default where occurred_at < cast(? as timestamptz)",
                        cutoff.toString())));
    long keys = 0;
    for (long n = KEY_BATCH; n == KEY_BATCH; ) {
      n =
          Math.max(
              0,
              step(
                  heartbeat,
                  "prune keys",
                  skipped,
                  tx ->
                      tx.execute(
                          "delete from user_event_keys where ctid in ("
                              + "select ctid from user_event_keys where received_at < cast(? as timestamptz) limit "
                              + KEY_BATCH
                              + ")",
                          cutoff.toString())));
      keys += n;
    }
    StorageMaintenance report =
        new StorageMaintenance(created, dropped, moved, strays, keys, skipped);
    if (!created.isEmpty() || !dropped.isEmpty() || strays > 0 || keys > 0 || !skipped.isEmpty()) {
      log.info("event storage (retention {}, cutoff {}): {}", retention, cutoff, report);
    }
    return report;
  }

  /**
   * Creates and attaches the day's partition unless one covers any of it; -1 when none was created.
   */
  private static long create(DSLContext tx, String name, Instant from, Instant to) {
    if (partitions(tx).stream().anyMatch(p -> p.overlaps(from, to))) return -1;
    // A standalone table attached afterwards: ATTACH does not block inserts into the parent, as
    // CREATE TABLE ... PARTITION OF would.
    tx.execute(
        "create table " + name + " (like user_events including defaults including constraints)");
    int moved =
        tx.execute(
            "with m as (delete from user_events_default where occurred_at >= cast(? as timestamptz) "
                + "and occurred_at < cast(? as timestamptz) returning *) insert into "
                + name
                + " select * from m",
            from.toString(),
            to.toString());
    tx.execute(
        "alter table user_events attach partition "
            + name
            + " for values from ('"
            + from
            + "') to ('"
            + to
            + "')");
    return moved;
  }

  /**
   * Drops the partition if it is still there and still wholly past {@code cutoff}; 1 when dropped.
   */
  private static long drop(DSLContext tx, String name, Instant cutoff) {
    boolean still =
        partitions(tx).stream()
            .anyMatch(
                p ->
                    p.name().equals(name)
                        && !p.isDefault()
                        && p.upper().isPresent()
                        && !p.upper().get().isAfter(cutoff));
    if (!still) return 0;
    tx.execute("drop table " + name);
    return 1;
  }

  /**
   * Runs {@code action} in its own transaction under the maintenance lock; -1 when it timed out on
   * a lock.
   */
  private long step(
      Runnable heartbeat, String what, List<String> skipped, ToLongFunction<DSLContext> action) {
    heartbeat.run();
    try {
      return dsl.transactionResult(
          cfg -> {
            DSLContext tx = cfg.dsl();
            tx.execute("set local lock_timeout = " + Math.max(1, lockTimeout.toMillis()));
            tx.fetch("select pg_advisory_xact_lock(" + LOCK_KEY + ")");
            return action.applyAsLong(tx);
          });
    } catch (DataAccessException e) {
      if (!LOCK_NOT_AVAILABLE.equals(e.sqlState())) throw e;
      log.warn("event storage: {} skipped, lock not granted within {}", what, lockTimeout);
      skipped.add(what);
      return -1;
    }
  }
}
