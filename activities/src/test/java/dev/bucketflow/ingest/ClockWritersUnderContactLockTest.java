package dev.bucketflow.ingest;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.backfill.BackfillJob;
import dev.bucketflow.backfill.BackfillService;
import dev.bucketflow.backfill.ChunkResult;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.Evaluator;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.db.Json;
import dev.bucketflow.expiry.ExpiryCheck;
import dev.bucketflow.expiry.ExpiryRequest;
import dev.bucketflow.expiry.ExpiryService;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.ContactLocks;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import dev.bucketflow.reconcile.BucketSweep;
import dev.bucketflow.reconcile.ReconcileService;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Deterministic interleavings of every clock-driven membership writer with an in-flight ingest of
 * the same user (README, "one lock discipline"). The ingest runs in its own thread and is held,
 * through {@link IngestService#afterEventsStored}, inside its transaction: contacts locked, the new
 * event stored, memberships not yet evaluated. The clock writer then runs in another thread and
 * must either skip that user (the sweeps' {@code SKIP LOCKED}) or wait for the contact lock (fast
 * expiry, backfill; checked through {@code pg_blocking_pids}, never by sleeping). Once the ingest
 * is released, the final membership equals the evaluator's verdict on the committed state and the
 * outbox holds no false {@code left} or {@code entered}.
 */
class ClockWritersUnderContactLockTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final Duration WAIT = Duration.ofSeconds(20);

  /** Reconcile clock leaves: "ping within 7 days". */
  static final BucketDefinition RECENT =
      BucketDefinition.builder("recent").criteria(event("ping").within(days(7)).exists()).build();

  /** maxDwell force-leaves. */
  static final BucketDefinition CAPPED =
      BucketDefinition.builder("capped").criteria(prop("vip").eq(true)).maxDwell(days(2)).build();

  /** Absence joins: "active once, not in the last 7 days". */
  static final BucketDefinition DORMANT =
      BucketDefinition.builder("dormant")
          .criteria(
              all(event("app.active").exists(), event("app.active").within(days(7)).notExists()))
          .entryLimit(EntryLimit.ONCE)
          .build();

  /** Fast-expiry leaves. */
  static final BucketDefinition FAST =
      BucketDefinition.builder("fast")
          .criteria(event("tick").within(Duration.ofHours(1)).exists())
          .fastExpiry(true)
          .build();

  /** Backfill chunk joins (first time): absence-shaped. */
  static final BucketDefinition BF_DORMANT =
      BucketDefinition.builder("bf-dormant")
          .criteria(all(event("visit").exists(), event("visit").within(days(7)).notExists()))
          .build();

  /** Backfill chunk leaves (re-evaluation). */
  static final BucketDefinition BF_RECENT =
      BucketDefinition.builder("bf-recent")
          .criteria(event("seen").within(days(7)).exists())
          .build();

  static final List<BucketDefinition> BUCKETS =
      List.of(RECENT, CAPPED, DORMANT, FAST, BF_DORMANT, BF_RECENT);

  MutableClock clock;
  BucketCatalog catalog;
  UserStates states;
  IngestService ingest;
  ExecutorService threads;

  @BeforeEach
  void reset() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, rejected_events, ingest_batches, bucket_memberships, "
            + "bucket_transitions, bucket_configs, bucket_backfill_jobs");
    clock = new MutableClock(T0);
    catalog = dev.bucketflow.testing.Engines.catalog(dsl, BUCKETS);
    EventHistoryLoader history = new EventHistoryLoader();
    states = new UserStates(history);
    ingest =
        new IngestService(
            dsl,
            new MembershipEngine(
                catalog, new MembershipStore(), history, TransitionWriter.withoutGenericEvents()),
            clock);
    threads = Executors.newFixedThreadPool(2);
  }

  @AfterEach
  void stop() {
    threads.shutdownNow();
  }

  // ---------------------------------------------------------------- the interleavings

  @Test
  void reconcileClockLeaveSkipsAUserWhoseNewPingIsBeingIngested() throws Exception {
    send(event("u1", "ping"), event("u2", "ping"));
    clock.advance(days(7)); // both pings are now 7 days old: by the clock alone, both fail
    ReconcileService reconcile = reconcile(10);

    try (HeldIngest held = hold(event("u1", "ping"))) {
      BucketSweep sweep = finishes(() -> reconcile.sweep(RECENT.id(), p -> {}), "reconcile sweep");
      assertThat(sweep.clockLeaves())
          .as("u2 leaves; u1, locked by the ingest, is left to the next pass")
          .isEqualTo(1);
      held.release();
    }

    assertMembershipIsTheVerdict(RECENT, "u1", true);
    assertMembershipIsTheVerdict(RECENT, "u2", false);
    assertThat(transitions(RECENT))
        .containsExactly("u1:entered:1:event", "u2:entered:1:event", "u2:left:1:reconcile");
    assertThat(reconcile.sweep(RECENT.id(), p -> {}).clockLeaves())
        .as("the next pass: u1 still matches")
        .isZero();
  }

  @Test
  void clockLeaveChunksRunAtOnceSkipOnlyTheUserBeingIngested() throws Exception {
    send(event("u1", "ping"), event("u2", "ping"), event("u3", "ping"));
    clock.advance(days(7));
    // One user per chunk, three chunks at once: the step's chunk of u1 meets the held ingest.
    ReconcileService reconcile =
        new ReconcileService(
            dsl, catalog, states, TransitionWriter.withoutGenericEvents(), clock, 1, null, 3);

    try (HeldIngest held = hold(event("u1", "ping"))) {
      BucketSweep sweep = finishes(() -> reconcile.sweep(RECENT.id(), p -> {}), "reconcile sweep");
      assertThat(sweep.clockLeaves())
          .as("u2 and u3 leave; u1 is left to the next pass")
          .isEqualTo(2);
      held.release();
    }

    assertMembershipIsTheVerdict(RECENT, "u1", true);
    assertMembershipIsTheVerdict(RECENT, "u2", false);
    assertMembershipIsTheVerdict(RECENT, "u3", false);
    assertThat(reconcile.sweep(RECENT.id(), p -> {}).clockLeaves()).isZero();
  }

  @Test
  void maxDwellLeaveSkipsAUserBeingIngestedAndTheNextPassForceLeavesOnce() throws Exception {
    send(event("u1", "p", "{\"vip\":true}"), event("u2", "p", "{\"vip\":true}"));
    clock.advance(days(2));
    ReconcileService reconcile = reconcile(10);

    try (HeldIngest held = hold(event("u1", "p", "{\"vip\":true}"))) {
      BucketSweep sweep = finishes(() -> reconcile.sweep(CAPPED.id(), p -> {}), "reconcile sweep");
      assertThat(sweep.maxDwellLeaves())
          .as("u2 force-leaves; u1 is locked by the ingest")
          .isEqualTo(1);
      held.release();
    }

    // The ingest decided on the row it saw: u1 still a member, as the evaluator says.
    assertMembershipIsTheVerdict(CAPPED, "u1", true);
    assertThat(transitions(CAPPED))
        .containsExactly("u1:entered:1:event", "u2:entered:1:event", "u2:left:1:reconcile");
    assertThat(reconcile.sweep(CAPPED.id(), p -> {}).maxDwellLeaves()).isEqualTo(1);
    assertThat(transitions(CAPPED))
        .containsExactly(
            "u1:entered:1:event",
            "u2:entered:1:event",
            "u2:left:1:reconcile",
            "u1:left:1:reconcile");
  }

  @Test
  void absenceJoinSkipsAUserWhoseReturnIsBeingIngested() throws Exception {
    send(event("u1", "app.active"), event("u2", "app.active"));
    clock.advance(days(7).plusHours(1)); // both lapsed by the clock alone
    ReconcileService reconcile = reconcile(10);

    try (HeldIngest held = hold(event("u1", "app.active"))) {
      BucketSweep sweep = finishes(() -> reconcile.sweep(DORMANT.id(), p -> {}), "reconcile sweep");
      assertThat(sweep.absenceJoins())
          .as("u2 joins; u1, locked by the ingest, is not joined")
          .isEqualTo(1);
      held.release();
    }

    assertMembershipIsTheVerdict(DORMANT, "u1", false);
    assertMembershipIsTheVerdict(DORMANT, "u2", true);
    assertThat(transitions(DORMANT))
        .as("no false absence join of u1")
        .containsExactly("u2:entered:1:reconcile");
    assertThat(reconcile.sweep(DORMANT.id(), p -> {}).absenceJoins()).isZero();
  }

  @Test
  void fastExpiryWaitsForTheIngestAndThenExtends() throws Exception {
    send(event("u1", "tick"));
    clock.advance(Duration.ofHours(1)); // the deadline the watch slept toward
    ExpiryService expiry =
        new ExpiryService(dsl, catalog, states, TransitionWriter.withoutGenericEvents(), clock);
    ExpiryRequest armed =
        new ExpiryRequest(FAST.id(), "u1", 1, T0.plus(Duration.ofHours(1)).toEpochMilli());

    ExpiryCheck check;
    try (HeldIngest held = hold(event("u1", "tick"))) {
      Future<ExpiryCheck> leave = threads.submit(() -> expiry.leaveOrExtend(armed));
      held.awaitWaiting(leave, "fast-expiry leave-or-extend");
      held.release();
      check = leave.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    assertThat(check)
        .isEqualTo(ExpiryCheck.extended(clock.instant().plus(Duration.ofHours(1)).toEpochMilli()));
    assertMembershipIsTheVerdict(FAST, "u1", true);
    assertThat(transitions(FAST)).containsExactly("u1:entered:1:event");
  }

  @Test
  void firstTimeBackfillChunkWaitsForTheIngestAndDoesNotJoinAReturningUser() throws Exception {
    send(event("u1", "visit"), event("u2", "visit"));
    clock.advance(days(8));
    BackfillService backfill = backfill();
    BackfillJob job =
        backfill.open(BF_DORMANT.id(), BucketJson.fingerprint(BF_DORMANT), BackfillKind.FIRST_TIME);

    ChunkResult chunk;
    try (HeldIngest held = hold(event("u1", "visit"))) {
      Future<ChunkResult> run = threads.submit(() -> backfill.runChunk(job.id()));
      held.awaitWaiting(run, "backfill chunk");
      held.release();
      chunk = run.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    assertThat(chunk.joined()).isEqualTo(1);
    assertMembershipIsTheVerdict(BF_DORMANT, "u1", false);
    assertMembershipIsTheVerdict(BF_DORMANT, "u2", true);
    assertThat(transitions(BF_DORMANT)).containsExactly("u2:entered:1:backfill");
  }

  @Test
  void reevaluationBackfillChunkWaitsForTheIngestAndDoesNotLeaveAReturningUser() throws Exception {
    send(event("u1", "seen"), event("u2", "seen"));
    clock.advance(days(7));
    BackfillService backfill = backfill();
    BackfillJob job =
        backfill.open(BF_RECENT.id(), BucketJson.fingerprint(BF_RECENT), BackfillKind.REEVAL);

    ChunkResult chunk;
    try (HeldIngest held = hold(event("u1", "seen"))) {
      Future<ChunkResult> run = threads.submit(() -> backfill.runChunk(job.id()));
      held.awaitWaiting(run, "backfill chunk");
      held.release();
      chunk = run.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    assertThat(chunk.left()).isEqualTo(1);
    assertMembershipIsTheVerdict(BF_RECENT, "u1", true);
    assertMembershipIsTheVerdict(BF_RECENT, "u2", false);
    assertThat(transitions(BF_RECENT))
        .as("no false bucket:left of u1")
        .containsExactly("u1:entered:1:event", "u2:entered:1:event", "u2:left:1:backfill");
  }

  /**
   * A contact operation splits a batch into runs; were each run to lock its own users, the batch
   * would lock out of id order (z, then a) and could deadlock with a backfill chunk locking a, then
   * z. So every contact of the batch is locked before its first run.
   */
  @Test
  void aBatchSplitByAContactOpHoldsAllItsContactsFromItsFirstRun() throws Exception {
    send(event("a-user", "ping"), event("z-user", "ping"));
    IngestBatch split =
        new IngestBatch(
            "split-batch",
            0,
            List.of(
                new PendingEvent(event("z-user", "ping"), clock.millis()),
                new PendingEvent(
                    Json.MAPPER.readTree("{\"userId\":\"a-user\"}"),
                    clock.millis(),
                    PendingEvent.DELETE_CONTACT)));

    List<String> free;
    try (HeldIngest held = new HeldIngest(split)) {
      free =
          finishes(
              () ->
                  dsl.transactionResult(
                      cfg -> ContactLocks.lockAvailable(cfg.dsl(), List.of("a-user", "z-user"))),
              "a SKIP LOCKED probe");
      held.release();
    }
    assertThat(free).as("contacts not held by the batch while its first run is applied").isEmpty();
  }

  // ---------------------------------------------------------------- harness

  void send(ObjectNode... events) {
    ingest.apply(batch(clock.instant(), events));
  }

  ReconcileService reconcile(int chunk) {
    return new ReconcileService(
        dsl, catalog, states, TransitionWriter.withoutGenericEvents(), clock, chunk, null);
  }

  BackfillService backfill() {
    return new BackfillService(
        dsl, catalog, states, TransitionWriter.withoutGenericEvents(), clock, 10);
  }

  /** Runs {@code writer} in another thread; it must finish (not wait) while the ingest is held. */
  <T> T finishes(Callable<T> writer, String what) throws Exception {
    Future<T> f = threads.submit(writer);
    try {
      return f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      throw new AssertionError(
          what + " did not finish while an ingest held a contact it does not need to wait for");
    }
  }

  /** Starts an ingest of {@code events} in another thread and holds it inside its transaction. */
  HeldIngest hold(ObjectNode... events) throws Exception {
    return new HeldIngest(batch(clock.instant(), events));
  }

  final class HeldIngest implements AutoCloseable {
    final CountDownLatch paused = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicBoolean armed = new AtomicBoolean(true);
    final AtomicInteger backendPid = new AtomicInteger();
    final Future<IngestService.Applied> applied;

    HeldIngest(IngestBatch batch) throws Exception {
      ingest.afterEventsStored(
          tx -> {
            if (!armed.compareAndSet(true, false)) return;
            backendPid.set(
                tx.fetchValue(org.jooq.impl.DSL.field("pg_backend_pid()", Integer.class)));
            paused.countDown();
            try {
              if (!release.await(WAIT.toSeconds() * 3, TimeUnit.SECONDS))
                throw new IllegalStateException("never released");
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new IllegalStateException(e);
            }
          });
      applied = threads.submit(() -> ingest.applyWithTransitions(batch));
      if (!paused.await(WAIT.toSeconds(), TimeUnit.SECONDS)) {
        applied.get(1, TimeUnit.SECONDS); // surfaces the ingest's own failure, if any
        fail("the ingest never reached its hook");
      }
    }

    /**
     * Waits, with a deadline, until {@code writer} waits for a lock the held ingest's backend holds
     * (pg_blocking_pids); fails if the writer finishes first, i.e. decided without waiting.
     */
    void awaitWaiting(Future<?> writer, String what) throws Exception {
      long until = System.nanoTime() + WAIT.toNanos();
      while (true) {
        if (writer.isDone()) {
          fail(
              what
                  + " did not wait for the contact lock of the user being ingested; it finished with "
                  + writer.get());
        }
        Integer waiting =
            dsl.fetchValue(
                org.jooq.impl.DSL.field(
                    "(select count(*)::int from pg_stat_activity "
                        + "where wait_event_type = 'Lock' and {0} = any(pg_blocking_pids(pid)))",
                    Integer.class, org.jooq.impl.DSL.val(backendPid.get())));
        if (waiting != null && waiting > 0) return;
        if (System.nanoTime() > until)
          fail(what + " neither finished nor waited on the ingest's lock within " + WAIT);
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
      }
    }

    void release() throws Exception {
      release.countDown();
      applied.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    @Override
    public void close() {
      release.countDown();
      ingest.afterEventsStored(null);
    }
  }

  boolean isActive(BucketDefinition bucket, String user) {
    var m = BUCKET_MEMBERSHIPS;
    return dsl.fetchExists(
        m,
        m.BUCKET_ID
            .eq(bucket.id())
            .and(m.USER_ID.eq(user))
            .and(m.STATUS.eq(MembershipStatus.ACTIVE))
            .and(m.DELETED_AT.isNull()));
  }

  /** The in-memory evaluator's verdict on the committed state, now. */
  boolean verdict(BucketDefinition bucket, String user) {
    Instant now = clock.instant();
    UserState state = states.load(dsl, List.of(user), bucket, now).get(user);
    return Evaluator.matches(bucket.criteria(), state, now);
  }

  void assertMembershipIsTheVerdict(BucketDefinition bucket, String user, boolean expected) {
    assertThat(verdict(bucket, user))
        .as("evaluator verdict for %s in %s", user, bucket.id())
        .isEqualTo(expected);
    assertThat(isActive(bucket, user))
        .as("membership of %s in %s", user, bucket.id())
        .isEqualTo(expected);
  }

  List<String> transitions(BucketDefinition bucket) {
    var t = BUCKET_TRANSITIONS;
    return dsl.select(t.USER_ID, t.KIND, t.EPOCH, t.SOURCE)
        .from(t)
        .where(t.BUCKET_ID.eq(bucket.id()))
        .orderBy(t.ID)
        .fetch()
        .map(r -> r.value1() + ":" + r.value2() + ":" + r.value3() + ":" + r.value4());
  }
}
