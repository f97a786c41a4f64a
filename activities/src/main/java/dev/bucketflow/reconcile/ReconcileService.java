package dev.bucketflow.reconcile;

import static dev.bucketflow.schema.Tables.BUCKET_BACKFILL_JOBS;
import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.CONTACTS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.EntryGate;
import dev.bucketflow.expiry.ExpiryArming;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.BulkMemberships;
import dev.bucketflow.membership.ContactLocks;
import dev.bucketflow.membership.MovedDeadline;
import dev.bucketflow.membership.Source;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The clock-driven sweep of one bucket (DESIGN §8), set-based and chunked: every statement
 * touches at most {@code chunkSize} rows, each chunk is its own short transaction, and progress
 * is reported through {@code heartbeat}. Never one evaluation per member: predicates are the
 * compiled criteria ({@link CriteriaSql}) evaluated by PostgreSQL over a chunk.
 */
public final class ReconcileService {

  private static final Logger log = LoggerFactory.getLogger(ReconcileService.class);
  private static final String ACTIVE = "active";
  /** Longer than any sensible cron interval; later deadlines are re-armed by a later sweep. */
  private static final java.time.Duration REARM_HORIZON = java.time.Duration.ofMinutes(15);

  private final DSLContext dsl;
  private final BucketCatalog catalog;
  private final Clock clock;
  private final int chunkSize;
  private final ExpiryArming arming;
  private final BulkMemberships bulk;

  public ReconcileService(DSLContext dsl, BucketCatalog catalog, UserStates states, TransitionWriter transitions,
      Clock clock, int chunkSize, ExpiryArming arming) {
    this.dsl = dsl;
    this.catalog = catalog;
    this.clock = clock;
    this.chunkSize = chunkSize;
    this.arming = arming;
    this.bulk = new BulkMemberships(states, transitions);
  }

  /** Enabled, time-based buckets to sweep (or only {@code onlyBucket}, if it is one). */
  public List<String> bucketsToSweep(String onlyBucket) {
    return catalog.registry().timeBased().stream()
        .filter(b -> !b.manual() && catalog.isOn(b))
        .map(BucketDefinition::id)
        .filter(id -> onlyBucket == null || onlyBucket.equals(id))
        .toList();
  }

  public BucketSweep sweep(String bucketId, Consumer<String> heartbeat) {
    BucketDefinition bucket = catalog.byId(bucketId)
        .orElseThrow(() -> new IllegalArgumentException("bucketId: unknown bucket '" + bucketId + "'"));
    Instant now = clock.instant();
    int maxDwell = maxDwellLeaves(bucket, now, heartbeat);
    int[] leaves = clockLeaves(bucket, now, heartbeat);
    boolean wantsJoins = bucket.reconcilesJoins();
    boolean skipJoins = wantsJoins && !firstBackfillDone(bucket.id());
    int joins = wantsJoins && !skipJoins ? absenceJoins(bucket, now, heartbeat) : 0;
    int rearmed = bucket.fastExpiry() && arming != null ? rearmExpiring(bucket, now, heartbeat) : 0;
    BucketSweep result = new BucketSweep(bucket.id(), leaves[0], maxDwell, leaves[1], joins, skipJoins, rearmed, null);
    log.info("reconciled bucket={} clockLeaves={} maxDwellLeaves={} deferred={} joins={} joinsSkipped={}",
        bucket.id(), leaves[0], maxDwell, leaves[1], joins, skipJoins);
    return result;
  }

  /**
   * Force-leaves members past {@code max_dwell_at}, whatever the criteria say. Walks the due rows
   * in id order, a chunk per transaction, each under its users' contact locks (see
   * {@link #clockLeaves} for why they are skipped, not waited for).
   */
  private int maxDwellLeaves(BucketDefinition bucket, Instant now, Consumer<String> heartbeat) {
    if (bucket.maxDwell() == null) return 0;
    var m = BUCKET_MEMBERSHIPS;
    int total = 0;
    long cursor = 0;
    while (true) {
      var due = dsl.select(m.ID, m.USER_ID).from(m)
          .where(m.BUCKET_ID.eq(bucket.id()).and(m.STATUS.eq(ACTIVE)).and(m.DELETED_AT.isNull())
              .and(m.MAX_DWELL_AT.le(now)).and(m.ID.gt(cursor)))
          .orderBy(m.ID).limit(chunkSize).fetch();
      if (due.isEmpty()) return total;
      List<Long> ids = due.getValues(m.ID);
      List<String> users = due.getValues(m.USER_ID);
      cursor = ids.get(ids.size() - 1);
      total += dsl.transactionResult(cfg -> {
        DSLContext tx = cfg.dsl();
        List<String> locked = ContactLocks.lockAvailable(tx, users);
        if (locked.isEmpty()) return 0;
        // A statement after the lock: it sees whatever the lock holders committed.
        return leave(tx, bucket, m.ID.in(ids).and(m.USER_ID.in(locked)).and(m.MAX_DWELL_AT.le(now)), now);
      });
      heartbeat.accept("maxDwell:" + cursor);
      if (due.size() < chunkSize) return total;
    }
  }

  /**
   * Leaves members whose criteria no longer hold; those still inside {@code minDwell} are
   * deferred instead (their {@code expires_at} marks when to look again). Walks the members in
   * user-id order, one chunk per transaction. Returns {leaves, deferred}.
   *
   * <p>Each chunk first locks its users' contacts with {@code SKIP LOCKED} and decides, in later
   * statements, only for the users it locked. A user skipped is held by an ingest (or another
   * writer) right now; that writer re-evaluates what its events touch, and this bucket's next
   * pass looks at the user again. Skipping rather than waiting keeps a chunk from ever waiting on
   * ingest, and an ingest from waiting on a chunk that holds a thousand contacts.
   */
  private int[] clockLeaves(BucketDefinition bucket, Instant now, Consumer<String> heartbeat) {
    var m = BUCKET_MEMBERSHIPS;
    var c = CONTACTS;
    Condition failing = DSL.not(CriteriaSql.predicate(bucket.criteria(), c.EXTERNAL_ID, c.PROPERTIES, now));
    Instant dwellThreshold = bucket.minDwell() == null ? null : now.minus(bucket.minDwell());
    int leaves = 0;
    int deferred = 0;
    String cursor = "";
    while (true) {
      var chunk = dsl.select(m.ID, m.USER_ID).from(m)
          .where(m.BUCKET_ID.eq(bucket.id()).and(m.STATUS.eq(ACTIVE)).and(m.DELETED_AT.isNull()).and(m.USER_ID.gt(cursor)))
          .orderBy(m.USER_ID).limit(chunkSize).fetch();
      if (chunk.isEmpty()) break;
      List<Long> ids = chunk.getValues(m.ID);
      cursor = chunk.get(chunk.size() - 1).value2();
      List<MovedDeadline> moved = new ArrayList<>();
      List<String> users = chunk.getValues(m.USER_ID);
      int[] done = dsl.transactionResult(cfg -> {
        DSLContext tx = cfg.dsl();
        List<String> locked = ContactLocks.lockAvailable(tx, users);
        if (locked.isEmpty()) return new int[] {0, 0};
        var failingIds = DSL.select(m.ID).from(m).join(c).on(c.EXTERNAL_ID.eq(m.USER_ID))
            .where(m.ID.in(ids)).and(m.USER_ID.in(locked)).and(failing);
        int deferredNow = 0;
        Condition leavable = m.ID.in(failingIds);
        if (dwellThreshold != null) {
          // Too early to leave: stamp when the dwell ends, once.
          var dwellEnds = DSL.field("{0} + make_interval(secs => {1})", m.EXPIRES_AT.getDataType(), m.ENTERED_AT,
              DSL.val((double) bucket.minDwell().toSeconds()));
          var deferral = tx.update(m).set(m.EXPIRES_AT, dwellEnds).set(m.UPDATED_AT, now)
              .where(m.ID.in(failingIds).and(m.STATUS.eq(ACTIVE)).and(m.ENTERED_AT.gt(dwellThreshold))
                  .and(m.EXPIRES_AT.isDistinctFrom(dwellEnds)));
          if (bucket.fastExpiry() && arming != null) {
            // The new deadline may be earlier than the one the watch sleeps toward (it ignores a later one).
            var stamped = deferral.returningResult(m.USER_ID, m.ENTRY_COUNT, m.EXPIRES_AT).fetch();
            stamped.forEach(r -> moved.add(new MovedDeadline(bucket.id(), r.value1(), r.value2(), r.value3())));
            deferredNow = stamped.size();
          } else {
            deferredNow = deferral.execute();
          }
          leavable = leavable.and(m.ENTERED_AT.le(dwellThreshold));
        }
        return new int[] {leave(tx, bucket, leavable, now), deferredNow};
      });
      // After the chunk's commit: no signal while its row locks are held.
      if (!moved.isEmpty()) arming.deadlinesMoved(moved);
      leaves += done[0];
      deferred += done[1];
      heartbeat.accept("leaves:" + cursor);
      if (chunk.size() < chunkSize) break;
    }
    return new int[] {leaves, deferred};
  }

  /** Compare-and-swap leave of the active rows matching {@code which}; one transition per row changed. */
  private int leave(DSLContext tx, BucketDefinition bucket, Condition which, Instant now) {
    return bulk.leave(tx, bucket, which, now, Source.RECONCILE);
  }

  /**
   * Joins live contacts that satisfy the criteria and are not members. Walks all live contacts in
   * id order, a chunk per transaction, so users still active at the front never starve the ones
   * behind them. A chunk locks its contacts with {@code SKIP LOCKED} first and joins only those it
   * locked (as {@link #clockLeaves}).
   */
  private int absenceJoins(BucketDefinition bucket, Instant now, Consumer<String> heartbeat) {
    var c = CONTACTS;
    int joins = 0;
    String cursor = "";
    while (true) {
      List<String> range = dsl.select(c.EXTERNAL_ID).from(c)
          .where(c.EXTERNAL_ID.gt(cursor).and(c.DELETED_AT.isNull()))
          .orderBy(c.EXTERNAL_ID).limit(chunkSize).fetch(c.EXTERNAL_ID);
      if (range.isEmpty()) break;
      String from = cursor;
      String to = range.get(range.size() - 1);
      joins += dsl.transactionResult(cfg -> joinRange(cfg.dsl(), bucket, from, to, range, now));
      cursor = to;
      heartbeat.accept("joins:" + cursor);
      if (range.size() < chunkSize) break;
    }
    return joins;
  }

  private int joinRange(DSLContext tx, BucketDefinition bucket, String after, String upTo, List<String> ids,
      Instant now) {
    var c = CONTACTS;
    List<String> locked = ContactLocks.lockAvailable(tx, ids);
    if (locked.isEmpty()) return 0;
    Condition range = c.EXTERNAL_ID.gt(after).and(c.EXTERNAL_ID.le(upTo)).and(c.EXTERNAL_ID.in(locked));
    return bulk.join(tx, bucket, range, now, Source.RECONCILE,
        (priorEntries, lastLeftAt) -> EntryGate.emitsJoin(bucket.entryLimit(), bucket.entryPeriod(), priorEntries,
            lastLeftAt, now)).size();
  }

  /**
   * Re-arms fast-expiry watches lost with a Temporal restart. Only members due before the next
   * sweep could miss their seconds-latency leave, so only those are (idempotently) started.
   */
  private int rearmExpiring(BucketDefinition bucket, Instant now, Consumer<String> heartbeat) {
    var m = BUCKET_MEMBERSHIPS;
    var deadline = DSL.least(DSL.coalesce(m.EXPIRES_AT, m.MAX_DWELL_AT), DSL.coalesce(m.MAX_DWELL_AT, m.EXPIRES_AT));
    int started = 0;
    long cursor = 0;
    while (true) {
      var chunk = dsl.select(m.ID, m.USER_ID, m.ENTRY_COUNT, deadline).from(m)
          .where(m.BUCKET_ID.eq(bucket.id()).and(m.STATUS.eq(ACTIVE)).and(m.DELETED_AT.isNull()).and(m.ID.gt(cursor))
              .and(deadline.le(now.plus(REARM_HORIZON))))
          .orderBy(m.ID).limit(chunkSize).fetch();
      for (var r : chunk) {
        if (arming.arm(bucket.id(), r.value2(), r.value3(), r.value4())) started++;
        cursor = r.value1();
      }
      heartbeat.accept("rearm:" + cursor);
      if (chunk.size() < chunkSize) return started;
    }
  }

  /**
   * Joins wait for a first-time backfill in progress. A bucket with a recorded criteria hash was
   * backfilled; one never backfilled counts as done; a failed job does not block forever.
   */
  private boolean firstBackfillDone(String bucketId) {
    var c = BUCKET_CONFIGS;
    if (dsl.fetchExists(c, c.BUCKET_ID.eq(bucketId).and(c.CRITERIA_HASH.isNotNull()))) return true;
    var j = BUCKET_BACKFILL_JOBS;
    return !dsl.fetchExists(j, j.BUCKET_ID.eq(bucketId).and(j.KIND.eq("first_time")).and(j.STATUS.eq("running")));
  }
}
