package dev.bucketflow.reconcile;

import static dev.bucketflow.bucket.MembershipStatus.ACTIVE;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.CONTACTS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.Durations;
import dev.bucketflow.bucket.EntryGate;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.criteria.CriteriaSql;
import dev.bucketflow.expiry.ExpiryArming;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.BulkMemberships;
import dev.bucketflow.membership.ContactLocks;
import dev.bucketflow.membership.Dependents;
import dev.bucketflow.membership.DwellEvents;
import dev.bucketflow.membership.MovedDeadline;
import dev.bucketflow.membership.Transition;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The clock-driven sweep of one bucket (DESIGN §8), set-based and chunked: every statement touches
 * at most {@code chunkSize} rows, each chunk is its own short transaction, and progress is reported
 * through {@code heartbeat}. Never one evaluation per member: predicates are the compiled criteria
 * ({@link CriteriaSql}) evaluated by PostgreSQL over a chunk.
 *
 * <p>The phases (maxDwell leaves, clock leaves, absence joins, fast-expiry re-arming) each walk a
 * keyset; where a sweep stands is a {@link SweepCursor}. A sweep runs in bounded parts ({@link
 * Budget}): a part returns its cursor and counts ({@link SweepProgress}), heartbeats them after
 * every chunk's commit, and the next part (or a retried attempt, from its heartbeat) goes on from
 * there. Each chunk is idempotent besides (compare-and-swap leaves, conflict-guarded joins), so a
 * chunk redone after a crash before its heartbeat changes nothing twice.
 */
public final class ReconcileService {

  private static final Logger log = LoggerFactory.getLogger(ReconcileService.class);

  /**
   * Clock-leave chunks of one bucket in flight at once, by default. A chunk is database-bound and
   * its Java thread mostly waits, so on a 2-core box three keep the database busy: {@code bench
   * reconcile} sweeps 100,000 members in 5.4-6.5 s with one, 4.2-4.7 s with two, 3.4-4.3 s with
   * three. The two extra connections are per worker, shared by all its sweeps.
   */
  public static final int DEFAULT_PARALLELISM = 3;

  /** More chunks at once than any database has cores for. */
  public static final int MAX_PARALLELISM = 64;

  /**
   * {@code parallelism} if it is 1..{@link #MAX_PARALLELISM}; else an {@link
   * IllegalArgumentException} naming {@code name} (the constructor's parameter, or the flag it came
   * from).
   */
  public static int checkParallelism(int parallelism, String name) {
    if (parallelism < 1 || parallelism > MAX_PARALLELISM) {
      throw new IllegalArgumentException(
          name + ": must be 1.." + MAX_PARALLELISM + ", got " + parallelism);
    }
    return parallelism;
  }

  /** Longer than any sensible cron interval; later deadlines are re-armed by a later sweep. */
  private static final Duration REARM_HORIZON = Duration.ofMinutes(15);

  private final DSLContext dsl;
  private final BucketCatalog catalog;
  private final Clock clock;
  private final int chunkSize;
  private final ExpiryArming arming;
  private final BulkMemberships bulk;
  private final TransitionWriter transitions;
  private final Dependents dependents;
  private final int parallelism;
  private final Executor slices;
  private volatile BiConsumer<SweepCursor, SweepCursor> afterChunk = (from, to) -> {};
  private volatile Consumer<List<String>> insideChunk = users -> {};

  public ReconcileService(
      DSLContext dsl,
      BucketCatalog catalog,
      UserStates states,
      TransitionWriter transitions,
      Clock clock,
      int chunkSize,
      ExpiryArming arming) {
    this(dsl, catalog, states, transitions, clock, chunkSize, arming, 1);
  }

  /**
   * @param parallelism how many clock-leave chunks of one bucket run at once, each its own
   *     transaction on its own connection (at least 1)
   */
  public ReconcileService(
      DSLContext dsl,
      BucketCatalog catalog,
      UserStates states,
      TransitionWriter transitions,
      Clock clock,
      int chunkSize,
      ExpiryArming arming,
      int parallelism) {
    this.parallelism = checkParallelism(parallelism, "parallelism");
    this.slices = parallelism == 1 ? Runnable::run : sliceThreads(parallelism - 1);
    this.dsl = dsl;
    this.catalog = catalog;
    this.clock = clock;
    this.chunkSize = chunkSize;
    this.arming = arming;
    this.bulk = new BulkMemberships(states, transitions);
    this.dependents = new Dependents(catalog, states, transitions);
    this.transitions = transitions;
  }

  /** Enabled, time-based buckets to sweep (or only {@code onlyBucket}, if it is one). */
  public List<String> bucketsToSweep(String onlyBucket) {
    return catalog.registry().timeBased().stream()
        .filter(b -> !b.manual() && catalog.isOn(b))
        .map(BucketDefinition::id)
        .filter(id -> onlyBucket == null || onlyBucket.equals(id))
        .toList();
  }

  /** How much one sweep activity may do before it returns its cursor: chunks, and time. */
  public record Budget(int chunks, Duration time) {
    /** The activity's default: about a minute of work, a bounded number of rows. */
    public static final Budget DEFAULT = new Budget(200, Duration.ofSeconds(60));

    public static final Budget UNBOUNDED = new Budget(Integer.MAX_VALUE, Duration.ofDays(365));

    public Budget {
      if (chunks < 1)
        throw new IllegalArgumentException("chunks: must be at least 1, got " + chunks);
    }
  }

  /**
   * Package-private test seam: runs after each chunk's commit and heartbeat, with the cursors it
   * went from and to.
   */
  void afterChunk(BiConsumer<SweepCursor, SweepCursor> hook) {
    this.afterChunk = hook == null ? (from, to) -> {} : hook;
  }

  /**
   * Package-private test seam: runs inside each clock-leave chunk's transaction, on its thread,
   * with the users it locked, before it writes.
   */
  void insideChunk(Consumer<List<String>> hook) {
    this.insideChunk = hook == null ? users -> {} : hook;
  }

  /** The whole sweep of a bucket in one call (tests, and the activity shape before parts). */
  public BucketSweep sweep(String bucketId, Consumer<SweepProgress> heartbeat) {
    return sweep(
            bucketId,
            SweepProgress.start(bucketId, SweepCursor.start()),
            Budget.UNBOUNDED,
            heartbeat)
        .counts();
  }

  /**
   * Sweeps {@code bucketId} from {@code from} for at most {@code budget} (at least one chunk),
   * reporting a {@link SweepProgress} after every chunk's commit; returns the progress so far,
   * {@code from}'s counts included. Call again from the returned cursor until it is done.
   */
  public SweepProgress sweep(
      String bucketId, SweepProgress from, Budget budget, Consumer<SweepProgress> heartbeat) {
    BucketDefinition bucket =
        catalog
            .byId(bucketId)
            .orElseThrow(
                () -> new IllegalArgumentException("bucketId: unknown bucket '" + bucketId + "'"));
    Instant now = clock.instant();
    long until = System.nanoTime() + budget.time().toNanos();
    SweepCursor cursor = from.next();
    BucketSweep counts = from.counts();
    int chunks = 0;
    while (!cursor.done()
        && chunks < budget.chunks()
        && (chunks == 0 || System.nanoTime() < until)) {
      Step step;
      try {
        step = step(bucket, cursor, now, Math.min(parallelism, budget.chunks() - chunks));
      } catch (ChunksFailed f) {
        // The chunks that committed are counted; the cursor stays before all of them, and the
        // retry redoes those without effect (compare-and-swap leaves), so each leave counts once.
        heartbeat.accept(new SweepProgress(cursor, counts.plus(f.committed)));
        signalMoved(f.moved);
        throw f.rethrowable();
      }
      counts = counts.plus(step.counts());
      SweepCursor was = cursor;
      cursor = step.next();
      if (step.chunks() == 0) continue; // a phase with nothing to do: on to the next
      chunks += step.chunks();
      SweepProgress progress = new SweepProgress(cursor, counts);
      heartbeat.accept(progress);
      // After the commits and the heartbeat: a step's signals (one per deadline) may take a
      // while, and none is sent while row locks are held.
      signalMoved(step.moved());
      afterChunk.accept(was, cursor);
    }
    if (cursor.done()) {
      log.info(
          "reconciled bucket={} clockLeaves={} maxDwellLeaves={} deferred={} joins={} joinsSkipped={}",
          bucket.id(),
          counts.clockLeaves(),
          counts.maxDwellLeaves(),
          counts.deferred(),
          counts.absenceJoins(),
          counts.joinsSkipped());
    }
    return new SweepProgress(cursor, counts);
  }

  /**
   * What one step did: the cursor after it, its counts, and how many chunks (database transactions)
   * it took.
   */
  private record Step(SweepCursor next, BucketSweep counts, int chunks, List<MovedDeadline> moved) {
    Step(SweepCursor next, BucketSweep counts, int chunks) {
      this(next, counts, chunks, List.of());
    }

    static Step skip(String bucketId, SweepCursor.Phase to) {
      return new Step(SweepCursor.at(to), BucketSweep.zero(bucketId), 0);
    }
  }

  /** One step from {@code cursor}; the clock-leave phase may take up to {@code slices} chunks. */
  private Step step(BucketDefinition bucket, SweepCursor cursor, Instant now, int slices) {
    return switch (cursor.phase()) {
      case MAX_DWELL ->
          bucket.maxDwell() == null
              ? Step.skip(bucket.id(), SweepCursor.Phase.CLOCK_LEAVES)
              : maxDwellLeaves(bucket, cursor, now);
      case CLOCK_LEAVES -> clockLeaves(bucket, cursor, now, slices);
      case ABSENCE_JOINS -> {
        if (!bucket.reconcilesJoins()) yield Step.skip(bucket.id(), SweepCursor.Phase.REARM);
        if (!firstBackfillDone(bucket.id())) {
          yield new Step(
              SweepCursor.at(SweepCursor.Phase.REARM),
              new BucketSweep(bucket.id(), 0, 0, 0, 0, true, 0, null),
              0);
        }
        yield absenceJoins(bucket, cursor, now);
      }
      case REARM ->
          bucket.fastExpiry() && arming != null
              ? rearmExpiring(bucket, cursor, now)
              : Step.skip(bucket.id(), SweepCursor.Phase.DWELL);
      case DWELL ->
          bucket.hasDwellEvents()
              ? dwellEvents(bucket, cursor, now)
              : Step.skip(bucket.id(), SweepCursor.Phase.DONE);
      case DONE -> Step.skip(bucket.id(), SweepCursor.Phase.DONE);
    };
  }

  /**
   * The cursor after a chunk of {@code size} rows ending at {@code last}: the phase's end when the
   * chunk was short.
   */
  private SweepCursor nextAfter(int size, SweepCursor.Phase then, SweepCursor last) {
    return size < chunkSize ? SweepCursor.at(then) : last;
  }

  /**
   * Force-leaves members past {@code max_dwell_at}, whatever the criteria say: one chunk of the due
   * rows in id order, in one transaction, under its users' contact locks (see {@link #clockLeaves}
   * for why they are skipped, not waited for).
   */
  private Step maxDwellLeaves(BucketDefinition bucket, SweepCursor cursor, Instant now) {
    var m = BUCKET_MEMBERSHIPS;
    var due =
        dsl.select(m.ID, m.USER_ID)
            .from(m)
            .where(
                m.BUCKET_ID
                    .eq(bucket.id())
                    .and(m.STATUS.eq(ACTIVE))
                    .and(m.DELETED_AT.isNull())
                    .and(m.MAX_DWELL_AT.le(now))
                    .and(m.ID.gt(cursor.afterId())))
            .orderBy(m.ID)
            .limit(chunkSize)
            .fetch();
    if (due.isEmpty()) return Step.skip(bucket.id(), SweepCursor.Phase.CLOCK_LEAVES);
    List<Long> ids = due.getValues(m.ID);
    List<String> users = due.getValues(m.USER_ID);
    int left =
        dsl.transactionResult(
            cfg -> {
              DSLContext tx = cfg.dsl();
              List<String> locked = ContactLocks.lockAvailable(tx, users);
              if (locked.isEmpty()) return 0;
              // A statement after the lock: it sees whatever the lock holders committed.
              return leave(
                  tx,
                  bucket,
                  anyId(idsOf(ids, users, locked))
                      .and(m.MAX_DWELL_AT.le(now))
                      .and(m.DELETED_AT.isNull()),
                  false,
                  now,
                  LeaveReason.MAX_DWELL);
            });
    return new Step(
        nextAfter(
            due.size(), SweepCursor.Phase.CLOCK_LEAVES, cursor.afterId(ids.get(ids.size() - 1))),
        new BucketSweep(bucket.id(), 0, left, 0, 0, false, 0, null),
        1);
  }

  /**
   * Leaves members whose criteria no longer hold; those still inside {@code minDwell} are deferred
   * instead (their {@code expires_at} marks when to look again). Reads up to {@code slices} chunks
   * of the members in user-id order and applies each chunk in its own transaction; with more than
   * one, the chunks run at once on their own connections (their users are disjoint, so are their
   * locks and rows), and the step ends when all have committed. A chunk that fails fails the step
   * after the others finish: the cursor stays before all of them and each is idempotent, so a retry
   * redoes the committed ones without effect.
   *
   * <p>Each chunk first locks its users' contacts with {@code SKIP LOCKED} and decides, in later
   * statements, only for the users it locked. A user skipped is held by an ingest (or another
   * writer) right now; that writer re-evaluates what its events touch, and this bucket's next pass
   * looks at the user again. Skipping rather than waiting keeps a chunk from ever waiting on
   * ingest, and an ingest from waiting on a chunk that holds a thousand contacts.
   */
  private Step clockLeaves(BucketDefinition bucket, SweepCursor cursor, Instant now, int slices) {
    var m = BUCKET_MEMBERSHIPS;
    int rows = (int) Math.min(Integer.MAX_VALUE, (long) chunkSize * slices);
    var chunk =
        dsl.select(m.ID, m.USER_ID)
            .from(m)
            .where(
                m.BUCKET_ID
                    .eq(bucket.id())
                    .and(m.STATUS.eq(ACTIVE))
                    .and(m.DELETED_AT.isNull())
                    .and(m.USER_ID.gt(cursor.after())))
            .orderBy(m.USER_ID)
            .limit(rows)
            .fetch();
    if (chunk.isEmpty()) return Step.skip(bucket.id(), SweepCursor.Phase.ABSENCE_JOINS);
    List<Long> ids = chunk.getValues(m.ID);
    List<String> users = chunk.getValues(m.USER_ID);
    List<Callable<LeaveSlice>> work = new ArrayList<>();
    for (int from = 0; from < ids.size(); from += chunkSize) {
      int to = Math.min(ids.size(), from + chunkSize);
      List<Long> sliceIds = ids.subList(from, to);
      List<String> sliceUsers = users.subList(from, to);
      work.add(() -> leaveFailing(bucket, sliceIds, sliceUsers, now));
    }
    Chunks chunks = runAll(work);
    int left = 0;
    int deferred = 0;
    List<MovedDeadline> moved = new ArrayList<>();
    for (LeaveSlice done : chunks.committed()) {
      left += done.left();
      deferred += done.deferred();
      moved.addAll(done.moved());
    }
    BucketSweep counts = new BucketSweep(bucket.id(), left, 0, deferred, 0, false, 0, null);
    if (chunks.failure().isPresent()) throw new ChunksFailed(counts, moved, chunks.failure().get());
    SweepCursor next =
        ids.size() < rows
            ? SweepCursor.at(SweepCursor.Phase.ABSENCE_JOINS)
            : cursor.after(users.get(users.size() - 1));
    return new Step(next, counts, work.size(), moved);
  }

  /** What one clock-leave chunk did: leaves, deferrals, and the watch deadlines it moved. */
  private record LeaveSlice(int left, int deferred, List<MovedDeadline> moved) {}

  /** One clock-leave chunk ({@code ids}, parallel to {@code users}) in one transaction. */
  private LeaveSlice leaveFailing(
      BucketDefinition bucket, List<Long> ids, List<String> users, Instant now) {
    var m = BUCKET_MEMBERSHIPS;
    var c = CONTACTS;
    // Compiled here, per chunk, on the chunk's own thread: jOOQ query parts are not shared
    // between threads.
    // Criteria without a property leg read no contact column: evaluated on the membership row's
    // user_id, the chunk needs no join with contacts (a contacts_pkey probe per member, and in the
    // leave UPDATE a self-join through an IN subquery): a third less time per chunk of the count
    // bucket in bench reconcile.
    boolean readsContact = !bucket.referencedProperties().isEmpty();
    Condition failing =
        DSL.not(
            CriteriaSql.predicate(
                bucket.criteria(), readsContact ? c.EXTERNAL_ID : m.USER_ID, c.PROPERTIES, now));
    Instant dwellThreshold = bucket.minDwell() == null ? null : now.minus(bucket.minDwell());
    return dsl.transactionResult(
        cfg -> {
          DSLContext tx = cfg.dsl();
          List<String> locked = ContactLocks.lockAvailable(tx, users);
          if (locked.isEmpty()) return new LeaveSlice(0, 0, List.of());
          insideChunk.accept(locked);
          // Re-checked under the lock: the chunk was read before it, and a contact deleted
          // meanwhile keeps status 'active' with deleted_at set (DESIGN §7: excluded from all
          // evaluation).
          Condition mine = anyId(idsOf(ids, users, locked)).and(m.DELETED_AT.isNull());
          var failingIds =
              DSL.select(m.ID)
                  .from(readsContact ? m.join(c).on(c.EXTERNAL_ID.eq(m.USER_ID)) : m)
                  .where(mine)
                  .and(failing);
          Condition leavable = mine.and(failing);
          // Too early to leave: stamped with when the dwell ends, once.
          List<MovedDeadline> deferred =
              BulkMemberships.deferInsideMinDwell(tx, bucket, failingIds, now);
          if (dwellThreshold != null) leavable = leavable.and(m.ENTERED_AT.le(dwellThreshold));
          int left = leave(tx, bucket, leavable, readsContact, now, LeaveReason.CRITERIA);
          // The new deadline may be earlier than the one the watch sleeps toward (it ignores a
          // later one).
          return new LeaveSlice(
              left, deferred.size(), bucket.fastExpiry() && arming != null ? deferred : List.of());
        });
  }

  /** Signals the fast-expiry watches whose deadlines a step moved earlier. */
  private void signalMoved(List<MovedDeadline> moved) {
    if (!moved.isEmpty()) arming.deadlinesMoved(moved);
  }

  /** How a step's chunks ended: those that committed, and the first failure if any did not. */
  private record Chunks(List<LeaveSlice> committed, Optional<Throwable> failure) {}

  /**
   * Thrown by a step some of whose chunks failed: the counts and moved deadlines of those that
   * committed. The sweep heartbeats and signals them, with the cursor before the step, then
   * rethrows the cause.
   */
  private static final class ChunksFailed extends RuntimeException {
    final BucketSweep committed;
    final List<MovedDeadline> moved;

    ChunksFailed(BucketSweep committed, List<MovedDeadline> moved, Throwable cause) {
      super(cause.getMessage(), cause, false, false);
      this.committed = committed;
      this.moved = moved;
    }

    /** The cause as thrown by the chunk: an Error stays an Error. */
    RuntimeException rethrowable() {
      Throwable cause = getCause();
      if (cause instanceof Error e) throw e;
      return cause instanceof RuntimeException r ? r : new IllegalStateException(cause);
    }
  }

  /**
   * Runs {@code work} and returns once all of it has finished, failures (Errors included)
   * collected: the first, the others suppressed in it. A step never ends while one of its chunks
   * may still write. The calling thread runs the first chunk, then any the slice threads have not
   * started: they are shared by all of this worker's sweeps and may be busy with another bucket's,
   * so a sweep never waits for a free thread, and at most {@code parallelism - 1} extra connections
   * are in use however many buckets sweep at once.
   */
  private Chunks runAll(List<Callable<LeaveSlice>> work) {
    List<FutureTask<LeaveSlice>> tasks = new ArrayList<>(work.size());
    for (var w : work) tasks.add(new FutureTask<>(w));
    for (int i = 1; i < tasks.size(); i++) slices.execute(tasks.get(i));
    // run() does nothing for a task a slice thread has started or finished; a task's own
    // failure is kept in it, for get() below.
    for (var t : tasks) t.run();
    List<LeaveSlice> committed = new ArrayList<>(tasks.size());
    Throwable failure = null;
    boolean interrupted = false;
    for (var t : tasks) {
      while (true) {
        try {
          committed.add(t.get());
          break;
        } catch (ExecutionException e) {
          Throwable cause = e.getCause() == null ? e : e.getCause();
          if (failure == null) failure = cause;
          else if (cause != failure) failure.addSuppressed(cause);
          break;
        } catch (InterruptedException e) {
          // Wait anyway: a chunk in flight holds its connection and locks until it ends.
          interrupted = true;
        }
      }
    }
    if (interrupted) Thread.currentThread().interrupt();
    return new Chunks(committed, Optional.ofNullable(failure));
  }

  /**
   * Daemon threads for the chunks beyond the first: a sweep never keeps the JVM up, and a chunk in
   * flight is always waited for by its sweep.
   */
  private static Executor sliceThreads(int threads) {
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            30,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, "reconcile-chunk-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    // Idle between sweeps (minutes apart): no threads kept.
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /**
   * {@code id = ANY(?)}: a chunk's ids as one array parameter. An {@code IN} list of a thousand
   * parameters costs PostgreSQL more to parse and plan than the statement takes to run (measured by
   * {@code bench reconcile}: planning 23 ms against 2.5 ms with the array, on a 17 ms execution).
   */
  private static Condition anyId(List<Long> ids) {
    return BUCKET_MEMBERSHIPS.ID.eq(DSL.any(ids.toArray(Long[]::new)));
  }

  /**
   * The chunk's row ids ({@code ids}, parallel to {@code users}) whose users are {@code locked}:
   * restricting by id alone, not by also filtering on {@code user_id = ANY(locked)}. In the generic
   * plan a prepared statement gets after a few chunks, an array parameter is neither constant nor
   * hashed, so that filter compared (and re-cast) the whole array for every row: ×20 the chunk's
   * time (411 ms against 20 ms per 1,000 members in {@code bench reconcile}).
   */
  private static List<Long> idsOf(List<Long> ids, List<String> users, List<String> locked) {
    if (locked.size() == users.size()) return ids;
    java.util.Set<String> held = new java.util.HashSet<>(locked);
    List<Long> out = new ArrayList<>(locked.size());
    for (int i = 0; i < ids.size(); i++) {
      if (held.contains(users.get(i))) out.add(ids.get(i));
    }
    return out;
  }

  /**
   * Compare-and-swap leave of the active rows matching {@code which}; one transition per row
   * changed. {@code readsContact}: {@code which} reads the membership's {@code contacts} row.
   */
  private int leave(
      DSLContext tx,
      BucketDefinition bucket,
      Condition which,
      boolean readsContact,
      Instant now,
      LeaveReason reason) {
    List<Transition> left =
        bulk.leaveReturning(
            tx, bucket, which, readsContact, now, MembershipSource.RECONCILE, reason);
    // Buckets whose bucket conditions name this one follow in the same transaction.
    dependents.follow(tx, left, now, MembershipSource.RECONCILE);
    return left.size();
  }

  /**
   * Joins live contacts that satisfy the criteria and are not members: one chunk of all live
   * contacts in id order (the walk covers every contact, so users still active at the front never
   * starve the ones behind them). The chunk locks its contacts with {@code SKIP LOCKED} first and
   * joins only those it locked (as {@link #clockLeaves}).
   */
  private Step absenceJoins(BucketDefinition bucket, SweepCursor cursor, Instant now) {
    var c = CONTACTS;
    String from = cursor.after();
    List<String> range =
        dsl.select(c.EXTERNAL_ID)
            .from(c)
            .where(c.EXTERNAL_ID.gt(from).and(c.DELETED_AT.isNull()))
            .orderBy(c.EXTERNAL_ID)
            .limit(chunkSize)
            .fetch(c.EXTERNAL_ID);
    if (range.isEmpty()) return Step.skip(bucket.id(), SweepCursor.Phase.REARM);
    String to = range.get(range.size() - 1);
    int joins = dsl.transactionResult(cfg -> joinRange(cfg.dsl(), bucket, from, to, range, now));
    return new Step(
        nextAfter(range.size(), SweepCursor.Phase.REARM, cursor.after(to)),
        new BucketSweep(bucket.id(), 0, 0, 0, joins, false, 0, null),
        1);
  }

  private int joinRange(
      DSLContext tx,
      BucketDefinition bucket,
      String after,
      String upTo,
      List<String> ids,
      Instant now) {
    var c = CONTACTS;
    List<String> locked = ContactLocks.lockAvailable(tx, ids);
    if (locked.isEmpty()) return 0;
    Condition range =
        c.EXTERNAL_ID.gt(after).and(c.EXTERNAL_ID.le(upTo)).and(c.EXTERNAL_ID.in(locked));
    List<Transition> joined =
        bulk.join(
            tx,
            bucket,
            range,
            now,
            MembershipSource.RECONCILE,
            (priorEntries, lastLeftAt) ->
                EntryGate.emitsJoin(
                    bucket.entryLimit(), bucket.entryPeriod(), priorEntries, lastLeftAt, now));
    dependents.follow(tx, joined, now, MembershipSource.RECONCILE);
    return joined.size();
  }

  /**
   * Emits the dwell events due (DESIGN §13): for the threshold at index {@code cursor.after()}, one
   * chunk of the members in id order that have stayed that long, have not had it, reached it at or
   * after the bucket's {@code dwell_since}, and were not due to leave before reaching it. The claim
   * ({@code dwell_done_ms} moved forward) and the events share one transaction under the users'
   * contact locks (skipped when held, as {@link #clockLeaves}); runs after the leave phases of the
   * same instant, so a member who left first gets none.
   */
  private Step dwellEvents(BucketDefinition bucket, SweepCursor cursor, Instant now) {
    int index = cursor.after().isEmpty() ? 0 : Integer.parseInt(cursor.after());
    if (index >= bucket.dwell().size()) return Step.skip(bucket.id(), SweepCursor.Phase.DONE);
    Duration after = bucket.dwell().get(index);
    long afterMs = after.toMillis();
    Instant since = DwellEvents.since(dsl, bucket.id());
    var m = BUCKET_MEMBERSHIPS;
    var reachedAt = BulkMemberships.enteredPlus(after);
    Condition due =
        m.BUCKET_ID
            .eq(bucket.id())
            .and(m.STATUS.eq(ACTIVE))
            .and(m.DELETED_AT.isNull())
            .and(m.DWELL_DONE_MS.lt(afterMs))
            .and(m.ENTERED_AT.le(now.minus(after)))
            .and(m.ENTERED_AT.ge(since.minus(after)))
            .and(m.EXPIRES_AT.isNull().or(m.EXPIRES_AT.gt(reachedAt)));
    var chunk =
        dsl.select(m.ID, m.USER_ID)
            .from(m)
            .where(due.and(m.ID.gt(cursor.afterId())))
            .orderBy(m.ID)
            .limit(chunkSize)
            .fetch();
    SweepCursor nextThreshold =
        new SweepCursor(SweepCursor.Phase.DWELL, String.valueOf(index + 1), 0);
    if (chunk.isEmpty()) return new Step(nextThreshold, BucketSweep.zero(bucket.id()), 0);
    List<Long> ids = chunk.getValues(m.ID);
    List<String> users = chunk.getValues(m.USER_ID);
    int emitted =
        dsl.transactionResult(
            cfg -> {
              DSLContext tx = cfg.dsl();
              List<String> locked = ContactLocks.lockAvailable(tx, users);
              if (locked.isEmpty()) return 0;
              List<DwellEvents.Due> claimed =
                  tx.update(m)
                      .set(m.DWELL_DONE_MS, afterMs)
                      .set(m.UPDATED_AT, now)
                      .where(anyId(idsOf(ids, users, locked)).and(due))
                      .returningResult(m.USER_ID, m.ENTRY_COUNT, m.ENTERED_AT)
                      .fetch()
                      .map(
                          r ->
                              new DwellEvents.Due(
                                  r.value1(), r.value2(), after, r.value3().plus(after)));
              return transitions.writeDwell(tx, bucket.id(), claimed, now);
            });
    if (emitted > 0)
      log.info(
          "dwell events bucket={} after={} emitted={}", bucket.id(), Durations.iso(after), emitted);
    SweepCursor next =
        chunk.size() < chunkSize
            ? nextThreshold
            : new SweepCursor(
                SweepCursor.Phase.DWELL, String.valueOf(index), ids.get(ids.size() - 1));
    return new Step(next, BucketSweep.zero(bucket.id()), 1);
  }

  /**
   * Re-arms fast-expiry watches lost with a Temporal restart. Only members due before the next
   * sweep could miss their seconds-latency leave, so only those are (idempotently) started.
   */
  private Step rearmExpiring(BucketDefinition bucket, SweepCursor cursor, Instant now) {
    var m = BUCKET_MEMBERSHIPS;
    var deadline =
        DSL.least(
            DSL.coalesce(m.EXPIRES_AT, m.MAX_DWELL_AT), DSL.coalesce(m.MAX_DWELL_AT, m.EXPIRES_AT));
    var chunk =
        dsl.select(m.ID, m.USER_ID, m.ENTRY_COUNT, deadline)
            .from(m)
            .where(
                m.BUCKET_ID
                    .eq(bucket.id())
                    .and(m.STATUS.eq(ACTIVE))
                    .and(m.DELETED_AT.isNull())
                    .and(m.ID.gt(cursor.afterId()))
                    .and(deadline.le(now.plus(REARM_HORIZON))))
            .orderBy(m.ID)
            .limit(chunkSize)
            .fetch();
    if (chunk.isEmpty()) return Step.skip(bucket.id(), SweepCursor.Phase.DWELL);
    int started = 0;
    for (var r : chunk) {
      if (arming.arm(bucket.id(), r.value2(), r.value3(), r.value4())) started++;
    }
    return new Step(
        nextAfter(
            chunk.size(),
            SweepCursor.Phase.DWELL,
            cursor.afterId(chunk.get(chunk.size() - 1).value1())),
        new BucketSweep(bucket.id(), 0, 0, 0, 0, false, started, null),
        1);
  }

  /**
   * Joins wait for a first-time backfill in progress. A bucket with a recorded criteria hash was
   * backfilled; one never backfilled counts as done; a failed job does not block forever.
   */
  private boolean firstBackfillDone(String bucketId) {
    return dev.bucketflow.membership.FirstBackfill.done(dsl, bucketId);
  }
}
