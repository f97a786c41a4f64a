package dev.bucketflow.reconcile;

import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A bucket's clock leaves swept several chunks at once ({@code --reconcile-parallelism}), on real
 * PostgreSQL: the chunks of a step really run concurrently, each on its own transaction; the result
 * is exact; a chunk that fails fails the step after its siblings commit, and the retry counts every
 * leave once; sweeps of several buckets share the extra threads without waiting for one another.
 */
class ReconcileParallelTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final int CHUNK = 5;
  static final int USERS = 23; // at 3 chunks of 5 per step: users 1-15, then 16-23

  static final BucketDefinition RECENT =
      BucketDefinition.builder("recent").criteria(event("ping").within(days(7)).exists()).build();

  /** Another bucket, of other users (contact locks are per user, whatever the bucket). */
  static final BucketDefinition RECENT_PONG =
      BucketDefinition.builder("recent-pong")
          .criteria(event("pong").within(days(7)).exists())
          .build();

  MutableClock clock;
  BucketCatalog catalog;
  EventHistoryLoader history;

  @BeforeEach
  void reset() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, rejected_events, ingest_batches, bucket_memberships, "
            + "bucket_transitions, bucket_configs, bucket_backfill_jobs");
    clock = new MutableClock(T0);
    catalog = Engines.catalog(dsl, List.of(RECENT, RECENT_PONG));
    history = new EventHistoryLoader();
    IngestService ingest =
        new IngestService(
            dsl,
            new MembershipEngine(
                catalog, new MembershipStore(), history, TransitionWriter.withoutGenericEvents()),
            clock);
    List<ObjectNode> pings = new ArrayList<>();
    for (int i = 1; i <= USERS; i++) {
      pings.add(event(user(i), "ping"));
      pings.add(event(pongUser(user(i)), "pong"));
    }
    ingest.apply(batch(clock.instant(), pings));
    // Every third user pings again six days later: still inside the window when the sweep runs.
    clock.advance(days(6));
    List<ObjectNode> again = new ArrayList<>();
    for (int i = 3; i <= USERS; i += 3) {
      again.add(event(user(i), "ping"));
      again.add(event(pongUser(user(i)), "pong"));
    }
    ingest.apply(batch(clock.instant(), again));
    clock.advance(days(1)); // the others' only ping ages out
  }

  ReconcileService service(int parallelism) {
    return new ReconcileService(
        dsl,
        catalog,
        new UserStates(history),
        TransitionWriter.withoutGenericEvents(),
        clock,
        CHUNK,
        null,
        parallelism);
  }

  static String user(int i) {
    return String.format("u%02d", i);
  }

  static String pongUser(String user) {
    return "p-" + user;
  }

  /** The users due to leave: all but every third. */
  static List<String> due() {
    return due(1, USERS);
  }

  /** The users due to leave among users {@code from}..{@code to}. */
  static List<String> due(int from, int to) {
    List<String> out = new ArrayList<>();
    for (int i = from; i <= to; i++) if (i % 3 != 0) out.add(user(i));
    return out;
  }

  List<String> leftUsers(BucketDefinition bucket) {
    var t = BUCKET_TRANSITIONS;
    return dsl.select(t.USER_ID)
        .from(t)
        .where(t.BUCKET_ID.eq(bucket.id()).and(t.KIND.eq(TransitionKind.LEFT)))
        .orderBy(t.USER_ID)
        .fetch(t.USER_ID);
  }

  List<String> activeUsers(BucketDefinition bucket) {
    var m = BUCKET_MEMBERSHIPS;
    return dsl.select(m.USER_ID)
        .from(m)
        .where(m.BUCKET_ID.eq(bucket.id()).and(m.STATUS.eq(MembershipStatus.ACTIVE)))
        .orderBy(m.USER_ID)
        .fetch(m.USER_ID);
  }

  @Test
  void theChunksOfAStepRunAtOnceAndTheResultIsExact() throws Exception {
    ReconcileService reconcile = service(3);
    // The first step's three chunks each wait inside their transaction until all three are
    // there: run one after another, the first would time out and fail the sweep.
    CyclicBarrier together = new CyclicBarrier(3);
    Set<String> threads = ConcurrentHashMap.newKeySet();
    Set<String> firstStepUsers = ConcurrentHashMap.newKeySet();
    reconcile.insideChunk(
        users -> {
          // Only the first step's chunks (users 1-15) meet at the barrier.
          if (Collections.min(users).compareTo(user(15)) > 0) return;
          threads.add(Thread.currentThread().getName());
          firstStepUsers.addAll(users);
          try {
            together.await(20, TimeUnit.SECONDS);
          } catch (Exception e) {
            throw new IllegalStateException("the step's chunks did not run at once", e);
          }
        });
    List<String> steps = Collections.synchronizedList(new ArrayList<>());
    reconcile.afterChunk((from, to) -> steps.add(from.phase() + ":" + from.after()));

    BucketSweep counts = reconcile.sweep(RECENT.id(), p -> {});

    assertThat(threads).as("three chunks on three threads").hasSize(3);
    assertThat(firstStepUsers).hasSize(3 * CHUNK);
    assertThat(steps)
        .as("one step per three chunks: users 1-15, then 16-23")
        .containsExactly("CLOCK_LEAVES:", "CLOCK_LEAVES:" + user(15));
    assertThat(counts.clockLeaves()).isEqualTo(due().size());
    assertThat(leftUsers(RECENT)).isEqualTo(due()).doesNotHaveDuplicates();
    List<String> kept = new ArrayList<>();
    for (int i = 3; i <= USERS; i += 3) kept.add(user(i));
    assertThat(activeUsers(RECENT)).isEqualTo(kept);
    assertThat(activeUsers(RECENT_PONG)).as("the other bucket untouched").hasSize(USERS);
  }

  @Test
  void aFailedChunkFailsTheStepAfterItsSiblingsCommitAndTheRetryCountsEachLeaveOnce() {
    ReconcileService reconcile = service(3);
    AtomicBoolean failing = new AtomicBoolean(true);
    reconcile.insideChunk(
        users -> {
          if (failing.get() && users.contains(user(7))) {
            throw new IllegalStateException("connection lost in the chunk of " + user(7));
          }
        });
    AtomicReference<SweepProgress> lastBeat = new AtomicReference<>();
    SweepProgress start = SweepProgress.start(RECENT.id(), SweepCursor.start());

    assertThatThrownBy(
            () ->
                reconcile.sweep(RECENT.id(), start, ReconcileService.Budget.DEFAULT, lastBeat::set))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("connection lost in the chunk of u07");

    // Chunks u01-u05 and u11-u15 committed; u06-u10 rolled back.
    List<String> committed = new ArrayList<>(due(1, 5));
    committed.addAll(due(11, 15));
    assertThat(leftUsers(RECENT)).isEqualTo(committed);
    SweepProgress beat = lastBeat.get();
    assertThat(beat.next())
        .as("the cursor stays before the whole step")
        .isEqualTo(SweepCursor.at(SweepCursor.Phase.CLOCK_LEAVES));
    assertThat(beat.counts().clockLeaves())
        .as("the siblings that committed are counted")
        .isEqualTo(committed.size());

    failing.set(false);
    SweepProgress done =
        reconcile.sweep(RECENT.id(), beat, ReconcileService.Budget.DEFAULT, p -> {});

    assertThat(done.done()).isTrue();
    assertThat(done.counts().clockLeaves())
        .as("each leave counted once across both attempts")
        .isEqualTo(due().size());
    assertThat(leftUsers(RECENT)).isEqualTo(due()).doesNotHaveDuplicates();
  }

  @Test
  void aSweepDoesNotWaitForASliceThreadBusyWithAnotherBucket() throws Exception {
    ReconcileService reconcile = service(2); // one shared slice thread
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch held = new CountDownLatch(1);
    reconcile.insideChunk(
        users -> {
          if (!users.get(0).startsWith("u")) return;
          try {
            if (Thread.currentThread().getName().startsWith("reconcile-chunk")) {
              if (held.getCount() > 0) {
                held.countDown();
                release.await(30, TimeUnit.SECONDS);
              }
            } else if (users.contains(user(1))) {
              // RECENT's first chunk, on its caller, waits for the slice thread to take the
              // second: otherwise the caller could run that one itself, and nothing is held.
              held.await(20, TimeUnit.SECONDS);
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    // RECENT's sweep: the first of its chunks the slice thread runs holds that thread.
    CompletableFuture<BucketSweep> recent =
        CompletableFuture.supplyAsync(() -> reconcile.sweep(RECENT.id(), p -> {}));
    try {
      assertThat(held.await(20, TimeUnit.SECONDS)).isTrue();

      // RECENT_PONG's sweep queues its second chunks behind it and runs them itself.
      BucketSweep other =
          CompletableFuture.supplyAsync(() -> reconcile.sweep(RECENT_PONG.id(), p -> {}))
              .get(20, TimeUnit.SECONDS);
      List<String> pongDue = due().stream().map(ReconcileParallelTest::pongUser).toList();
      assertThat(other.clockLeaves()).isEqualTo(pongDue.size());
      assertThat(leftUsers(RECENT_PONG)).isEqualTo(pongDue);
      assertThat(recent).as("still held").isNotDone();
    } finally {
      release.countDown();
    }
    assertThat(recent.get(20, TimeUnit.SECONDS).clockLeaves()).isEqualTo(due().size());
    assertThat(leftUsers(RECENT)).isEqualTo(due()).doesNotHaveDuplicates();
  }

  @Test
  void aPartsChunkBudgetCountsEveryChunkOfAStep() {
    ReconcileService reconcile = service(3);
    List<String> steps = Collections.synchronizedList(new ArrayList<>());
    reconcile.afterChunk((from, to) -> steps.add(from.after() + ".." + to.after()));
    ReconcileService.Budget four = new ReconcileService.Budget(4, java.time.Duration.ofMinutes(1));

    SweepProgress first =
        reconcile.sweep(
            RECENT.id(), SweepProgress.start(RECENT.id(), SweepCursor.start()), four, p -> {});

    assertThat(steps)
        .as("three chunks, then the one the budget has left")
        .containsExactly(".." + user(15), user(15) + ".." + user(20));
    assertThat(first.next())
        .isEqualTo(SweepCursor.at(SweepCursor.Phase.CLOCK_LEAVES).after(user(20)));
    SweepProgress rest = reconcile.sweep(RECENT.id(), first, four, p -> {});
    assertThat(rest.done()).isTrue();
    assertThat(rest.counts().clockLeaves()).isEqualTo(due().size());
  }

  @Test
  void theCallersOwnChunkFailingFailsTheStepAfterTheSlicesCommit() {
    ReconcileService reconcile = service(3);
    AtomicBoolean failing = new AtomicBoolean(true);
    reconcile.insideChunk(
        users -> {
          if (failing.get() && users.contains(user(1))) {
            throw new IllegalStateException("lost in the first chunk");
          }
        });
    AtomicReference<SweepProgress> lastBeat = new AtomicReference<>();
    SweepProgress start = SweepProgress.start(RECENT.id(), SweepCursor.start());

    assertThatThrownBy(
            () ->
                reconcile.sweep(RECENT.id(), start, ReconcileService.Budget.DEFAULT, lastBeat::set))
        .hasMessage("lost in the first chunk");

    List<String> committed = due(6, 15);
    assertThat(leftUsers(RECENT)).isEqualTo(committed);
    assertThat(lastBeat.get().counts().clockLeaves()).isEqualTo(committed.size());
    failing.set(false);
    SweepProgress done =
        reconcile.sweep(RECENT.id(), lastBeat.get(), ReconcileService.Budget.DEFAULT, p -> {});
    assertThat(done.counts().clockLeaves()).isEqualTo(due().size());
    assertThat(leftUsers(RECENT)).isEqualTo(due()).doesNotHaveDuplicates();
  }

  @Test
  void anErrorInOneChunkStillWaitsForTheOthersAndIsRethrownAsItself() {
    ReconcileService reconcile = service(3);
    CountDownLatch errorThrown = new CountDownLatch(1);
    reconcile.insideChunk(
        users -> {
          if (users.contains(user(1))) {
            errorThrown.countDown();
            throw new AssertionError("an Error in the first chunk");
          }
          if (Collections.min(users).compareTo(user(15)) <= 0) {
            // A sibling still writing when the Error is thrown: the step must wait for it.
            try {
              errorThrown.await(20, TimeUnit.SECONDS);
              Thread.sleep(300);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        });
    AtomicReference<SweepProgress> lastBeat = new AtomicReference<>();
    SweepProgress start = SweepProgress.start(RECENT.id(), SweepCursor.start());

    assertThatThrownBy(
            () ->
                reconcile.sweep(RECENT.id(), start, ReconcileService.Budget.DEFAULT, lastBeat::set))
        .isExactlyInstanceOf(AssertionError.class)
        .hasMessage("an Error in the first chunk");

    // Read as soon as the sweep has thrown: both siblings have committed by then.
    List<String> committed = due(6, 15);
    assertThat(leftUsers(RECENT)).isEqualTo(committed);
    assertThat(lastBeat.get().next()).isEqualTo(SweepCursor.at(SweepCursor.Phase.CLOCK_LEAVES));
    assertThat(lastBeat.get().counts().clockLeaves()).isEqualTo(committed.size());
  }
}
