package dev.bucketflow.backfill;

import static dev.bucketflow.bucket.MembershipStatus.ACTIVE;
import static dev.bucketflow.schema.Tables.BUCKET_BACKFILL_JOBS;
import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.CONTACTS;

import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.NextFlip;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.criteria.CriteriaSql;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.BulkMemberships;
import dev.bucketflow.membership.ContactLocks;
import dev.bucketflow.membership.DeadlineSignals;
import dev.bucketflow.membership.Dependents;
import dev.bucketflow.membership.FirstBackfill;
import dev.bucketflow.membership.MovedDeadline;
import dev.bucketflow.membership.Transition;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Query;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.Record3;
import org.jooq.Record5;
import org.jooq.ResultQuery;
import org.jooq.Select;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First-time backfill and criteria-change re-evaluation (DESIGN §9), set-based and chunked, each
 * chunk deciding under its contacts' row locks ({@link ContactLocks}), plain Java ({@link
 * BackfillActivitiesImpl} is its activity face, {@link BackfillBench} drives it directly).
 *
 * <p>A job walks the live contacts in {@code external_id} order, {@code chunkSize} at a time. A
 * chunk is one transaction that locks the job row, reads its cursor, locks the range's contacts (id
 * order), changes the memberships of that key range with a handful of statements (the criteria
 * compiled to SQL by {@link CriteriaSql}, never one evaluation per contact), and advances the
 * cursor and counters. A crash inside a chunk rolls all of it back; a resumed job neither skips nor
 * repeats a contact.
 *
 * <ul>
 *   <li><b>Joins</b> (both kinds): matching live contacts without an active row get a fresh one,
 *       {@code source=backfill}, {@code entry_count = 1 + earlier rows}, {@code max_dwell_at} and
 *       {@code expires_at} stamped, plus an outbox row with {@code emitted=false}: fast-expiry
 *       arming and PostHog see the join, journeys do not, and no {@code bucket:entered} user event
 *       is written (history must not blast live journeys). The entryLimit gate is not consulted:
 *       backfill joins never emit.
 *   <li><b>Leaves</b> (re-evaluation only): active members of the range whose contact no longer
 *       matches leave by compare-and-swap, <em>with</em> emission ({@code bucket:left:<id>} event
 *       and outbox row, {@code source=backfill}). A member still inside {@code minDwell} is
 *       deferred as the reconcile sweep does: its {@code expires_at} becomes {@code entered_at +
 *       minDwell}.
 *   <li><b>Deadlines</b> (re-evaluation only): members that still match get {@code expires_at}
 *       recomputed for the new criteria (the old deadline described the old criteria).
 * </ul>
 *
 * <p>Deleted contacts ({@code deleted_at} set) are never joined or left: they are outside the walk.
 */
public final class BackfillService {

  private static final Logger log = LoggerFactory.getLogger(BackfillService.class);

  /** What boot must do for a bucket. */
  public enum Plan {
    NONE,
    FIRST_TIME,
    REEVAL;

    /** The job kind to open; empty for {@link #NONE}. */
    public Optional<BackfillKind> kind() {
      return switch (this) {
        case NONE -> Optional.empty();
        case FIRST_TIME -> Optional.of(BackfillKind.FIRST_TIME);
        case REEVAL -> Optional.of(BackfillKind.REEVAL);
      };
    }

    static Plan of(BackfillKind kind) {
      return kind == BackfillKind.FIRST_TIME ? FIRST_TIME : REEVAL;
    }
  }

  private final DSLContext dsl;
  private final BucketCatalog catalog;
  private final UserStates states;
  private final Clock clock;
  private final int chunkSize;
  private final BulkMemberships bulk;
  private final Dependents dependents;
  private final DeadlineSignals deadlineSignals;

  /** Test hook: runs inside a chunk's transaction right after its joins are inserted. */
  private volatile Consumer<Integer> afterInsert = joined -> {};

  public BackfillService(
      DSLContext dsl,
      BucketCatalog catalog,
      UserStates states,
      TransitionWriter transitions,
      Clock clock,
      int chunkSize) {
    this(dsl, catalog, states, transitions, clock, chunkSize, DeadlineSignals.NONE);
  }

  /**
   * @param deadlineSignals told, after each chunk's commit, of fast-expiry deadlines it moved
   *     earlier
   */
  public BackfillService(
      DSLContext dsl,
      BucketCatalog catalog,
      UserStates states,
      TransitionWriter transitions,
      Clock clock,
      int chunkSize,
      DeadlineSignals deadlineSignals) {
    if (chunkSize < 1)
      throw new IllegalArgumentException("chunkSize: must be at least 1, got " + chunkSize);
    this.dsl = dsl;
    this.catalog = catalog;
    this.states = states;
    this.clock = clock;
    this.chunkSize = chunkSize;
    this.bulk = new BulkMemberships(states, transitions);
    this.dependents = new Dependents(catalog, states, transitions);
    this.deadlineSignals = deadlineSignals;
  }

  /** Package-private test hook; a throwing hook aborts (rolls back) the chunk after its inserts. */
  void afterInsert(Consumer<Integer> hook) {
    this.afterInsert = hook == null ? joined -> {} : hook;
  }

  // ---------------------------------------------------------------- boot decision

  /**
   * What boot must do for {@code bucket} (the caller passes only enabled buckets):
   *
   * <ul>
   *   <li>{@link Plan#NONE} for manual buckets, and when {@code bucket_configs.criteria_hash}
   *       equals the bucket's fingerprint ({@link BucketJson#fingerprint});
   *   <li>the kind of an unfinished (running or failed) job for the current fingerprint, so a
   *       crashed job is resumed as what it was;
   *   <li>{@link Plan#FIRST_TIME} when no hash was ever recorded and the bucket has no membership
   *       row at all;
   *   <li>{@link Plan#REEVAL} otherwise (hash differs, or none recorded but rows exist, e.g. from
   *       live events before the first backfill finished).
   * </ul>
   */
  public Plan plan(BucketDefinition bucket) {
    if (bucket.manual() || bucket.criteria() == null) return Plan.NONE;
    String hash = BucketJson.fingerprint(bucket);
    String stored = storedHash(bucket.id());
    if (hash.equals(stored)) return Plan.NONE;
    Optional<BackfillJob> unfinished = job(bucket.id(), hash).filter(j -> !j.completed());
    if (unfinished.isPresent()) return Plan.of(unfinished.get().kind());
    var m = BUCKET_MEMBERSHIPS;
    if (stored == null && !dsl.fetchExists(m, m.BUCKET_ID.eq(bucket.id()))) return Plan.FIRST_TIME;
    return Plan.REEVAL;
  }

  /** {@code bucket_configs.criteria_hash}, or null when unset or the row is missing. */
  public String storedHash(String bucketId) {
    var c = BUCKET_CONFIGS;
    return dsl.select(c.CRITERIA_HASH)
        .from(c)
        .where(c.BUCKET_ID.eq(bucketId))
        .fetchOptional(c.CRITERIA_HASH)
        .orElse(null);
  }

  // ---------------------------------------------------------------- job lifecycle

  public Optional<BackfillJob> job(String bucketId, String criteriaHash) {
    var j = BUCKET_BACKFILL_JOBS;
    return dsl.selectFrom(j)
        .where(j.BUCKET_ID.eq(bucketId).and(j.CRITERIA_HASH.eq(criteriaHash)))
        .fetchOptional()
        .map(BackfillService::toJob);
  }

  public Optional<BackfillJob> job(long jobId) {
    var j = BUCKET_BACKFILL_JOBS;
    return dsl.selectFrom(j).where(j.ID.eq(jobId)).fetchOptional().map(BackfillService::toJob);
  }

  /**
   * The job for (bucket, hash): created {@code running} with {@code totals} = live contacts ({@code
   * ON CONFLICT (bucket_id, criteria_hash) DO NOTHING}), else the existing row — resumed from its
   * cursor. An existing {@code failed} job is set back to running (cursor kept). A {@code
   * completed} job whose hash is no longer the bucket's recorded one (the criteria changed away and
   * back: the unique key allows one row per hash) is restarted as a fresh walk of {@code kind};
   * otherwise it is returned as it is, and running it changes nothing.
   */
  public BackfillJob open(String bucketId, String criteriaHash, BackfillKind kind) {
    Objects.requireNonNull(bucketId, "bucketId");
    Objects.requireNonNull(criteriaHash, "criteriaHash");
    Objects.requireNonNull(kind, "kind");
    return dsl.transactionResult(
        cfg -> {
          DSLContext tx = cfg.dsl();
          var j = BUCKET_BACKFILL_JOBS;
          Condition key = j.BUCKET_ID.eq(bucketId).and(j.CRITERIA_HASH.eq(criteriaHash));
          Record existing = tx.selectFrom(j).where(key).forUpdate().fetchOne();
          if (existing == null) {
            tx.insertInto(j, j.BUCKET_ID, j.CRITERIA_HASH, j.KIND, j.STATUS, j.TOTALS)
                .values(
                    DSL.val(bucketId),
                    DSL.val(criteriaHash),
                    DSL.val(kind),
                    DSL.val(BackfillStatus.RUNNING),
                    DSL.field(liveContacts()))
                .onConflict(j.BUCKET_ID, j.CRITERIA_HASH)
                .doNothing()
                .execute();
            BackfillJob job = toJob(tx.selectFrom(j).where(key).forUpdate().fetchSingle());
            log.info(
                "backfill job {} for bucket {} ({}) opened: {} live contacts",
                job.id(),
                bucketId,
                job.kind(),
                job.totals());
            return job;
          }
          BackfillJob job = toJob(existing);
          Instant now = clock.instant();
          if (job.status() == BackfillStatus.FAILED) {
            tx.update(j)
                .set(j.STATUS, BackfillStatus.RUNNING)
                .setNull(j.ERROR)
                .setNull(j.FINISHED_AT)
                .where(j.ID.eq(job.id()))
                .execute();
            log.info(
                "backfill job {} for bucket {} resumed after failure at cursor {}",
                job.id(),
                bucketId,
                job.cursorUser());
          } else if (job.completed() && !criteriaHash.equals(storedHash(tx, bucketId))) {
            tx.update(j)
                .set(j.STATUS, BackfillStatus.RUNNING)
                .set(j.KIND, kind)
                .set(j.TOTALS, DSL.field(liveContacts()))
                .set(j.PROCESSED, 0L)
                .set(j.JOINED, 0L)
                .set(j.LEFT, 0L)
                .setNull(j.CURSOR_USER)
                .set(j.STARTED_AT, now)
                .setNull(j.FINISHED_AT)
                .setNull(j.ERROR)
                .where(j.ID.eq(job.id()))
                .execute();
            log.info(
                "backfill job {} for bucket {} restarted as {}: its criteria came back",
                job.id(),
                bucketId,
                kind);
          } else {
            return job;
          }
          return toJob(tx.selectFrom(j).where(j.ID.eq(job.id())).fetchSingle());
        });
  }

  /**
   * Restarts the job for (bucket, hash) as a fresh walk of {@code kind} — unless it is running,
   * which it then stays (a walk in progress is never reset under its workflow) — or opens it. For
   * an on-demand run ({@code bucketflow buckets backfill <id>}) over a bucket whose job already
   * completed or failed: call it before starting the workflow, never from an activity (each call on
   * a finished job restarts it again).
   */
  public BackfillJob restart(String bucketId, String criteriaHash, BackfillKind kind) {
    var j = BUCKET_BACKFILL_JOBS;
    dsl.update(j)
        .set(j.STATUS, BackfillStatus.RUNNING)
        .set(j.KIND, kind)
        .set(j.TOTALS, DSL.field(liveContacts()))
        .set(j.PROCESSED, 0L)
        .set(j.JOINED, 0L)
        .set(j.LEFT, 0L)
        .setNull(j.CURSOR_USER)
        .set(j.STARTED_AT, clock.instant())
        .setNull(j.FINISHED_AT)
        .setNull(j.ERROR)
        .where(
            j.BUCKET_ID
                .eq(bucketId)
                .and(j.CRITERIA_HASH.eq(criteriaHash))
                .and(j.STATUS.ne(BackfillStatus.RUNNING)))
        .execute();
    return open(bucketId, criteriaHash, kind);
  }

  /**
   * Marks a running job completed and records its hash as the bucket's {@code criteria_hash}, in
   * one transaction. A job not running changes nothing (a retried call, or one that failed).
   */
  public void complete(long jobId) {
    dsl.transaction(
        cfg -> {
          DSLContext tx = cfg.dsl();
          var j = BUCKET_BACKFILL_JOBS;
          Instant now = clock.instant();
          var done =
              tx.update(j)
                  .set(j.STATUS, BackfillStatus.COMPLETED)
                  .set(j.FINISHED_AT, now)
                  .where(j.ID.eq(jobId).and(j.STATUS.eq(BackfillStatus.RUNNING)))
                  .returningResult(
                      j.BUCKET_ID, j.CRITERIA_HASH, j.KIND, j.PROCESSED, j.JOINED, j.LEFT)
                  .fetchOptional();
          if (done.isEmpty()) return;
          var r = done.get();
          var c = BUCKET_CONFIGS;
          tx.insertInto(c, c.BUCKET_ID, c.CRITERIA_HASH, c.UPDATED_AT)
              .values(r.value1(), r.value2(), now)
              .onConflict(c.BUCKET_ID)
              .doUpdate()
              .set(c.CRITERIA_HASH, r.value2())
              .set(c.UPDATED_AT, now)
              .execute();
          log.info(
              "backfill job {} for bucket {} ({}) completed: processed={} joined={} left={}",
              jobId,
              r.value1(),
              r.value3(),
              r.value4(),
              r.value5(),
              r.value6());
        });
  }

  /** Marks a running job failed; its cursor stays, so a later {@link #open} resumes it. */
  public void fail(long jobId, String error) {
    var j = BUCKET_BACKFILL_JOBS;
    int changed =
        dsl.update(j)
            .set(j.STATUS, BackfillStatus.FAILED)
            .set(j.ERROR, error)
            .set(j.FINISHED_AT, clock.instant())
            .where(j.ID.eq(jobId).and(j.STATUS.eq(BackfillStatus.RUNNING)))
            .execute();
    if (changed > 0) log.warn("backfill job {} failed: {}", jobId, error);
  }

  // ---------------------------------------------------------------- one chunk

  /**
   * Processes the next {@code chunkSize} live contacts after the job's cursor, in one transaction
   * (see the class comment). On a completed job: nothing, {@code done}.
   *
   * @throws IllegalStateException when the job failed, the bucket is unknown or manual, or the
   *     loaded definition's fingerprint is not the job's (a worker with other definitions: retry
   *     elsewhere)
   */
  public ChunkResult runChunk(long jobId) {
    List<MovedDeadline> moved = new ArrayList<>();
    ChunkResult result = runChunk(jobId, moved);
    // After the commit, never under the chunk's row locks.
    if (!moved.isEmpty()) deadlineSignals.deadlinesMoved(moved);
    return result;
  }

  /**
   * A bucket whose conditions name other buckets is backfilled only once their first-time backfills
   * are done: evaluated earlier, its members would follow a half-filled dependency. Thrown (the
   * chunk's transaction rolls back, nothing written) as a retryable failure: the chunk activity's
   * retries (about 35 minutes of backoff) are the wait; each retry checks again.
   */
  private static void waitForDependencies(DSLContext tx, BucketDefinition bucket) {
    if (bucket.criteria() == null) return;
    for (String dependency : bucket.referencedBuckets()) {
      if (!FirstBackfill.done(tx, dependency))
        throw new DependencyBackfillRunning(bucket.id(), dependency);
    }
  }

  /** The chunk must wait: a dependency's first-time backfill is still running. */
  public static final class DependencyBackfillRunning extends IllegalStateException {
    DependencyBackfillRunning(String bucketId, String dependency) {
      super(
          "bucket '"
              + bucketId
              + "' waits for the first-time backfill of '"
              + dependency
              + "', which its bucket conditions name; retried until it completes");
    }
  }

  private ChunkResult runChunk(long jobId, List<MovedDeadline> moved) {
    return dsl.transactionResult(
        cfg -> {
          DSLContext tx = cfg.dsl();
          var j = BUCKET_BACKFILL_JOBS;
          BackfillJob job =
              tx.selectFrom(j)
                  .where(j.ID.eq(jobId))
                  .forUpdate()
                  .fetchOptional()
                  .map(BackfillService::toJob)
                  .orElseThrow(
                      () -> new IllegalArgumentException("jobId: no backfill job " + jobId));
          if (job.completed()) return new ChunkResult(job.processed(), job.totals(), 0, 0, true);
          if (!job.running())
            throw new IllegalStateException("backfill job " + jobId + " is " + job.status());
          BucketDefinition bucket = bucketOf(job);
          waitForDependencies(tx, bucket);
          Instant now = clock.instant();

          var c = CONTACTS;
          Condition afterCursor =
              job.cursorUser() == null ? DSL.trueCondition() : c.EXTERNAL_ID.gt(job.cursorUser());
          List<String> range =
              tx.select(c.EXTERNAL_ID)
                  .from(c)
                  .where(afterCursor.and(c.DELETED_AT.isNull()))
                  .orderBy(c.EXTERNAL_ID)
                  .limit(chunkSize)
                  .fetch(c.EXTERNAL_ID);
          if (range.isEmpty()) {
            tx.update(j).set(j.TOTALS, j.PROCESSED).where(j.ID.eq(jobId)).execute();
            return new ChunkResult(job.processed(), job.processed(), 0, 0, true);
          }
          String upTo = range.get(range.size() - 1);
          // The chunk's contacts, in id order, before reading anything the decisions depend on; the
          // decisions then see what an ingest holding one of them committed. Waiting, not SKIP
          // LOCKED:
          // the cursor moves past this range for good, so a skipped contact would never be
          // backfilled.
          KeyRange keys = new KeyRange(job.cursorUser(), upTo, ContactLocks.lock(tx, range));

          int left = 0;
          if (job.kind() == BackfillKind.REEVAL) {
            // Before the joins, so that neither touches the rows this chunk inserts.
            left = reevaluateMembers(tx, bucket, keys, now, moved);
          }
          int joined = join(tx, bucket, keys, now);
          afterInsert.accept(joined);

          long processed = job.processed() + range.size();
          boolean done = range.size() < chunkSize;
          long totals = done ? processed : Math.max(job.totals(), processed);
          tx.update(j)
              .set(j.CURSOR_USER, upTo)
              .set(j.PROCESSED, processed)
              .set(j.TOTALS, totals)
              .set(j.JOINED, j.JOINED.plus(joined))
              .set(j.LEFT, j.LEFT.plus(left))
              .where(j.ID.eq(jobId))
              .execute();
          return new ChunkResult(processed, totals, joined, left, done);
        });
  }

  /**
   * Contact ids in {@code (after, upTo]}; {@code after} null means from the start. With {@code
   * locked} (not null), only those ids: the contacts the chunk holds the lock of (a contact created
   * in the range after the chunk read it is not one of them).
   */
  record KeyRange(String after, String upTo, List<String> locked) {
    KeyRange(String after, String upTo) {
      this(after, upTo, null);
    }

    Condition on(Field<String> userId) {
      Condition upper = userId.le(upTo);
      Condition range = after == null ? upper : userId.gt(after).and(upper);
      return locked == null ? range : range.and(userId.in(locked));
    }
  }

  private BucketDefinition bucketOf(BackfillJob job) {
    BucketDefinition bucket =
        catalog
            .byId(job.bucketId())
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "backfill job "
                            + job.id()
                            + ": bucket '"
                            + job.bucketId()
                            + "' is not loaded by this worker"));
    if (bucket.manual() || bucket.criteria() == null) {
      throw new IllegalStateException(
          "backfill job " + job.id() + ": bucket '" + bucket.id() + "' is manual");
    }
    String loaded = BucketJson.fingerprint(bucket);
    if (!loaded.equals(job.criteriaHash())) {
      throw new IllegalStateException(
          "backfill job "
              + job.id()
              + ": this worker's criteria of bucket '"
              + bucket.id()
              + "' fingerprint to "
              + shortHash(loaded)
              + ", the job's to "
              + shortHash(job.criteriaHash()));
    }
    return bucket;
  }

  /**
   * Silent joins of the range's matching live contacts that have no active row, as the reconcile
   * sweep's joins ({@link BulkMemberships#join}) but without the entryLimit gate.
   */
  private int join(DSLContext tx, BucketDefinition bucket, KeyRange keys, Instant now) {
    List<Transition> joined =
        bulk.join(
            tx,
            bucket,
            keys.on(CONTACTS.EXTERNAL_ID),
            now,
            MembershipSource.BACKFILL,
            BulkMemberships.JoinEmission.NEVER);
    dependents.follow(tx, joined, now, MembershipSource.BACKFILL);
    return joined.size();
  }

  /**
   * The range's matching live contacts without an active row, with their earlier rows counted:
   * (external_id, email, prior). The hot query of a chunk (the bench EXPLAINs it); the plan
   * concerns are told at {@link BulkMemberships#joinable}.
   */
  static ResultQuery<Record3<String, String, Integer>> joinCandidates(
      DSLContext tx, BucketDefinition bucket, KeyRange keys, Instant now) {
    var c = CONTACTS;
    return tx.select(c.EXTERNAL_ID, c.EMAIL, BulkMemberships.priorEntries(bucket.id()))
        .from(c)
        .where(BulkMemberships.joinable(bucket, keys.on(c.EXTERNAL_ID), now));
  }

  /**
   * The range's active members of live contacts, each with whether it matches the criteria now
   * (NULL never happens with the compiled predicates, and is treated as unknown): (id, user_id,
   * entered_at, expires_at, matches). The hot query of a re-evaluation chunk.
   */
  static ResultQuery<Record5<Long, String, Instant, Instant, Boolean>> membersOfRange(
      DSLContext tx, BucketDefinition bucket, KeyRange keys, Instant now) {
    var m = BUCKET_MEMBERSHIPS;
    var c = CONTACTS;
    Field<Boolean> matches =
        DSL.field(CriteriaSql.predicate(bucket.criteria(), c.EXTERNAL_ID, c.PROPERTIES, now));
    // The status is tested through an expression no partial index predicate matches, for the
    // reason given in joinCandidates: the rows then come from bucket_memberships_history's
    // user_id range (O(chunk)), never from a scan of all the bucket's members filtered by user.
    Condition activeRow =
        DSL.coalesce(m.STATUS, DSL.inline(MembershipStatus.LEFT, m.STATUS))
            .eq(ACTIVE)
            .and(m.DELETED_AT.isNull());
    return tx.select(m.ID, m.USER_ID, m.ENTERED_AT, m.EXPIRES_AT, matches)
        .from(m)
        .join(c)
        .on(c.EXTERNAL_ID.eq(m.USER_ID))
        .where(m.BUCKET_ID.eq(bucket.id()).and(activeRow))
        .and(keys.on(m.USER_ID))
        .and(c.DELETED_AT.isNull());
  }

  /**
   * Re-evaluates the range's active members (of live contacts) against the criteria, one predicate
   * evaluation each: those that no longer match leave with emission (compare-and-swap, {@code
   * source=backfill}), or, inside {@code minDwell}, are deferred to {@code entered_at + minDwell};
   * those that still match get {@code expires_at} recomputed for the (new) criteria. Returns the
   * number of leaves. Of a {@code fastExpiry} bucket, the {@code expires_at} moved earlier are
   * added to {@code moved}, for the watches (the watch ignores one later than the {@code
   * max_dwell_at} it already sleeps toward).
   */
  private int reevaluateMembers(
      DSLContext tx,
      BucketDefinition bucket,
      KeyRange keys,
      Instant now,
      List<MovedDeadline> moved) {
    var m = BUCKET_MEMBERSHIPS;
    var rows = membersOfRange(tx, bucket, keys, now).fetch();
    if (rows.isEmpty()) return 0;
    List<Long> leavers = new ArrayList<>();
    List<Query> updates = new ArrayList<>();
    Map<String, Long> stayers = new HashMap<>();
    Map<Long, Instant> stampedAt = new HashMap<>();
    Map<Long, String> userOf = new HashMap<>();
    Map<Long, Instant> restamped = new HashMap<>();
    for (var r : rows) {
      userOf.put(r.value1(), r.value2());
      Boolean match = r.value5();
      if (Boolean.TRUE.equals(match)) {
        stayers.put(r.value2(), r.value1());
        stampedAt.put(r.value1(), r.value4());
        continue;
      }
      if (match == null) continue; // as the sweep's NOT(predicate): unknown never leaves
      Instant dwellEnds = bucket.minDwell() == null ? null : r.value3().plus(bucket.minDwell());
      if (dwellEnds != null && dwellEnds.isAfter(now)) {
        if (!dwellEnds.equals(r.value4())) {
          if (r.value4() == null || dwellEnds.isBefore(r.value4()))
            restamped.put(r.value1(), dwellEnds);
          updates.add(
              tx.update(m)
                  .set(m.EXPIRES_AT, dwellEnds)
                  .set(m.UPDATED_AT, now)
                  .where(m.ID.eq(r.value1()).and(m.STATUS.eq(ACTIVE))));
        }
      } else {
        leavers.add(r.value1());
      }
    }
    if (!stayers.isEmpty()) {
      Map<String, UserState> userStates = states.load(tx, stayers.keySet(), bucket, now);
      stayers.forEach(
          (user, id) -> {
            Instant deadline =
                NextFlip.deadline(bucket.criteria(), userStates.get(user), now).orElse(null);
            if (!Objects.equals(deadline, stampedAt.get(id))) {
              Instant was = stampedAt.get(id);
              if (deadline != null && (was == null || deadline.isBefore(was)))
                restamped.put(id, deadline);
              updates.add(
                  tx.update(m)
                      .set(m.EXPIRES_AT, deadline)
                      .set(m.UPDATED_AT, now)
                      .where(m.ID.eq(id).and(m.STATUS.eq(ACTIVE))));
            }
          });
    }
    if (!updates.isEmpty()) tx.batch(updates).execute();
    if (bucket.fastExpiry() && !restamped.isEmpty()) {
      var epochs =
          tx.select(m.ID, m.ENTRY_COUNT)
              .from(m)
              .where(m.ID.in(restamped.keySet()))
              .fetchMap(m.ID, m.ENTRY_COUNT);
      restamped.forEach(
          (id, at) ->
              moved.add(new MovedDeadline(bucket.id(), userOf.get(id), epochs.get(id), at)));
    }
    if (leavers.isEmpty()) return 0;
    List<Transition> left =
        bulk.leaveReturning(
            tx, bucket, m.ID.in(leavers), now, MembershipSource.BACKFILL, LeaveReason.REEVALUATION);
    dependents.follow(tx, left, now, MembershipSource.BACKFILL);
    return left.size();
  }

  // ---------------------------------------------------------------- helpers

  private static Select<Record1<Long>> liveContacts() {
    return DSL.select(DSL.count().cast(Long.class))
        .from(CONTACTS)
        .where(CONTACTS.DELETED_AT.isNull());
  }

  private static String storedHash(DSLContext tx, String bucketId) {
    var c = BUCKET_CONFIGS;
    return tx.select(c.CRITERIA_HASH)
        .from(c)
        .where(c.BUCKET_ID.eq(bucketId))
        .fetchOptional(c.CRITERIA_HASH)
        .orElse(null);
  }

  static String shortHash(String hash) {
    return hash == null || hash.length() <= 16 ? String.valueOf(hash) : hash.substring(0, 16);
  }

  private static BackfillJob toJob(Record r) {
    var j = BUCKET_BACKFILL_JOBS;
    Long totals = r.get(j.TOTALS);
    return new BackfillJob(
        r.get(j.ID),
        r.get(j.BUCKET_ID),
        r.get(j.CRITERIA_HASH),
        r.get(j.KIND),
        r.get(j.STATUS),
        totals == null ? 0 : totals,
        r.get(j.PROCESSED),
        r.get(j.JOINED),
        r.get(j.LEFT),
        r.get(j.CURSOR_USER));
  }
}
