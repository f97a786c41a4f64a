package dev.bucketflow.dispatch;

import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.DELIVERY_LEASES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.delivery.DeliveryPass;
import dev.bucketflow.shard.Shards;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The delivery contract of {@link OutboxDispatcher} against real PostgreSQL: per-user order,
 * failing rows neither lost nor blocking others, parking after the bound, one deliverer per shard.
 */
class OrderedDeliveryTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
  final MutableClock clock = new MutableClock(T0);
  final List<String> delivered = Collections.synchronizedList(new ArrayList<>());

  @BeforeEach
  void clean() {
    dsl.execute("TRUNCATE bucket_transitions, delivery_leases");
  }

  /** An outbox row for {@code user}, in the shard the writers would give it (8 shards). */
  long row(String user, String kind, int epoch) {
    return dsl.insertInto(
            BUCKET_TRANSITIONS,
            BUCKET_TRANSITIONS.BUCKET_ID,
            BUCKET_TRANSITIONS.USER_ID,
            BUCKET_TRANSITIONS.KIND,
            BUCKET_TRANSITIONS.EPOCH,
            BUCKET_TRANSITIONS.SOURCE,
            BUCKET_TRANSITIONS.EMITTED,
            BUCKET_TRANSITIONS.CREATED_AT,
            BUCKET_TRANSITIONS.SHARD)
        .values(
            "b",
            user,
            TransitionKind.fromDb(kind),
            epoch,
            MembershipSource.EVENT,
            true,
            T0,
            Shards.shardOf(user, 8))
        .returningResult(BUCKET_TRANSITIONS.ID)
        .fetchOne(BUCKET_TRANSITIONS.ID);
  }

  OutboxDispatcher dispatcher(DeliverySettings settings, TransitionTarget... targets) {
    return new OutboxDispatcher(
        dsl, List.of(new TransitionStream(List.of(targets))), List.of(), settings, clock);
  }

  TransitionTarget recorder() {
    return r -> delivered.add(r.userId() + ":" + r.kind() + ":" + r.epoch());
  }

  static final DeliverySettings FAST =
      DeliverySettings.DEFAULTS.withRetries(3, Duration.ofSeconds(1), Duration.ofSeconds(4));

  @Test
  void aUsersLaterRowsWaitBehindItsFailingRowWhileOtherUsersRowsGoOn() {
    Set<Long> failing = ConcurrentHashMap.newKeySet();
    failing.add(row("u1", "entered", 1));
    row("u2", "entered", 1);
    row("u1", "left", 1);
    row("u2", "left", 1);
    OutboxDispatcher d =
        dispatcher(
            FAST,
            r -> {
              if (failing.contains(r.id()))
                throw new IllegalStateException("target down for " + r.userId());
            },
            recorder());

    DeliveryPass first = d.deliver(0, 1, () -> {});
    assertThat(delivered).containsExactly("u2:entered:1", "u2:left:1");
    assertThat(first.failed()).isEqualTo(1);
    assertThat(first.nextDueAtMillis()).isEqualTo(T0.plusSeconds(1).toEpochMilli());

    // Not yet due: u1's leave still waits behind its join.
    d.deliver(0, 1, () -> {});
    assertThat(delivered).hasSize(2);

    failing.clear();
    clock.advance(Duration.ofSeconds(1));
    d.deliver(0, 1, () -> {});
    assertThat(delivered).containsExactly("u2:entered:1", "u2:left:1", "u1:entered:1", "u1:left:1");
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS, BUCKET_TRANSITIONS.DISPATCHED_AT.isNull()))
        .isZero();
  }

  @Test
  void
      aHundredFailingRowsAtTheHeadNeverHoldBackTheRowsBehindAndAreParkedWithTheirErrorAfterTheBound() {
    List<String> bad = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      bad.add("bad-" + i);
      row("bad-" + i, "entered", 1);
    }
    for (int i = 0; i < 50; i++) row("good-" + i, "entered", 1);
    OutboxDispatcher d =
        dispatcher(
            FAST,
            r -> {
              if (r.userId().startsWith("bad-") && r.entered())
                throw new IllegalStateException("journey type unknown for " + r.userId());
            },
            recorder());

    DeliveryPass pass = d.deliver(0, 1, () -> {});
    assertThat(delivered).hasSize(50).allMatch(s -> s.startsWith("good-"));
    assertThat(pass.failed()).isEqualTo(100);

    // Rows written later for other users are not held back by the failing head either.
    row("late", "entered", 1);
    d.deliver(0, 1, () -> {});
    assertThat(delivered).contains("late:entered:1");

    for (int attempt = 2; attempt <= FAST.maxAttempts(); attempt++) {
      clock.advance(FAST.maxBackoff());
      d.deliver(0, 1, () -> {});
    }
    var t = BUCKET_TRANSITIONS;
    var parked =
        dsl.select(t.USER_ID, t.ATTEMPTS, t.LAST_ERROR)
            .from(t)
            .where(t.PARKED_AT.isNotNull())
            .fetch();
    assertThat(parked).hasSize(100);
    assertThat(parked.getValues(t.ATTEMPTS)).containsOnly(FAST.maxAttempts());
    assertThat(parked.get(0).get(t.LAST_ERROR)).contains("journey type unknown for bad-");
    assertThat(dsl.fetchCount(t, t.DISPATCHED_AT.isNull().and(t.PARKED_AT.isNull()))).isZero();

    // Parked rows stay put, and the parked users' next rows are delivered.
    row("bad-7", "left", 1);
    clock.advance(Duration.ofHours(1));
    DeliveryPass after = d.deliver(0, 1, () -> {});
    assertThat(after.failed()).isZero();
    assertThat(delivered).contains("bad-7:left:1");
  }

  /**
   * While an ingest batch runs in the worker, a pass yields once before each row (not once per
   * target of a row) and before each call of a step, and stops when interrupted; once ingest is
   * done it no longer yields. Nothing is delivered out of order or twice for it. The yield's clock
   * moves 30 ms per reading, so every pause is the 20 ms cap.
   */
  @Test
  void whileIngestRunsAPassYieldsBeforeEachRowAndStepCallAndNotOtherwise() {
    String u = userOfShard(2);
    row(u, "entered", 1);
    row(u, "left", 1);
    row(u, "entered", 2);
    List<Duration> pauses = Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.atomic.AtomicLong ticks = new java.util.concurrent.atomic.AtomicLong();
    DeliveryYield yieldToIngest =
        new DeliveryYield(Duration.ofMillis(20), pauses::add, () -> ticks.addAndGet(30_000_000L));
    List<String> second = Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.atomic.AtomicInteger stepCalls =
        new java.util.concurrent.atomic.AtomicInteger();
    DeliveryStep twoCalls =
        (shard, shards, control) -> {
          for (int i = 0; i < 2 && control.proceed(); i++) stepCalls.incrementAndGet();
          return DeliveryStep.Result.NOTHING;
        };
    OutboxDispatcher d =
        new OutboxDispatcher(
            dsl,
            List.of(
                new TransitionStream(
                    List.of(recorder(), r -> second.add(r.kind() + ":" + r.epoch())))),
            List.of(twoCalls),
            DeliverySettings.DEFAULTS,
            clock,
            yieldToIngest);

    try (DeliveryYield.Running ingest = yieldToIngest.ingestStarted()) {
      assertThat(d.deliver(2, 8, () -> {}).delivered()).isEqualTo(3);
    }
    assertThat(pauses).hasSize(3 + 2).containsOnly(Duration.ofMillis(20));
    assertThat(stepCalls).hasValue(2);
    assertThat(delivered).containsExactly(u + ":entered:1", u + ":left:1", u + ":entered:2");
    assertThat(second).containsExactly("entered:1", "left:1", "entered:2");

    row(u, "left", 2);
    assertThat(d.deliver(2, 8, () -> {}).delivered()).isEqualTo(1);
    assertThat(pauses).hasSize(5); // no ingest running: no pause

    // Interrupted (a worker shutting down): the pass stops before its next row, unmarked.
    row(u, "entered", 3);
    DeliveryYield interrupting =
        new DeliveryYield(
            Duration.ofMillis(20),
            p -> {
              throw new InterruptedException("shutdown");
            },
            () -> ticks.addAndGet(30_000_000L));
    OutboxDispatcher stopping =
        new OutboxDispatcher(
            dsl,
            List.of(new TransitionStream(List.of(recorder()))),
            List.of(),
            DeliverySettings.DEFAULTS,
            clock,
            interrupting);
    try (DeliveryYield.Running ingest = interrupting.ingestStarted()) {
      DeliveryPass pass = stopping.deliver(2, 8, () -> {});
      assertThat(Thread.interrupted()).isTrue();
      assertThat(pass.delivered()).isZero();
      assertThat(pass.more()).isTrue();
    }
    assertThat(delivered).hasSize(4);
  }

  /** Within one page, delivered rows are marked every {@link OutboxDispatcher#MARK_EVERY}. */
  @Test
  void deliveredRowsAreMarkedWhileThePassGoesOnNotAtTheEndOfItsPage() {
    String u = userOfShard(6);
    for (int epoch = 1; epoch <= 60; epoch++) row(u, epoch % 2 == 1 ? "entered" : "left", epoch);
    List<Integer> markedWhenDelivering = new ArrayList<>();
    TransitionTarget probe =
        r ->
            markedWhenDelivering.add(
                dsl.fetchCount(BUCKET_TRANSITIONS, BUCKET_TRANSITIONS.DISPATCHED_AT.isNotNull()));
    assertThat(dispatcher(DeliverySettings.DEFAULTS, probe).deliver(6, 8, () -> {}).delivered())
        .isEqualTo(60);
    assertThat(markedWhenDelivering.get(49)).isZero(); // the 50th row: none marked yet
    assertThat(markedWhenDelivering.get(50)).isEqualTo(OutboxDispatcher.MARK_EVERY);
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS, BUCKET_TRANSITIONS.DISPATCHED_AT.isNull()))
        .isZero();
  }

  @Test
  void aSecondDelivererOfTheSameShardDeliversNothingWhileTheFirstHoldsTheLease() throws Exception {
    String u = userOfShard(3);
    row(u, "entered", 1);
    row(u, "left", 1);
    CountDownLatch inTarget = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    TransitionTarget gate =
        r -> {
          if (r.entered()) {
            inTarget.countDown();
            release.await(10, TimeUnit.SECONDS);
          }
        };
    OutboxDispatcher a = dispatcher(DeliverySettings.DEFAULTS, gate, recorder());
    OutboxDispatcher b = dispatcher(DeliverySettings.DEFAULTS, recorder());
    CompletableFuture<DeliveryPass> first =
        CompletableFuture.supplyAsync(() -> a.deliver(3, 8, () -> {}));
    assertThat(inTarget.await(10, TimeUnit.SECONDS)).isTrue();

    DeliveryPass second = b.deliver(3, 8, () -> {});
    assertThat(second.leaseBusy()).isTrue();
    assertThat(second.delivered()).isZero();
    assertThat(b.deliver(4, 8, () -> {}).leaseBusy()).isFalse(); // other shards are not held

    release.countDown();
    assertThat(first.get(10, TimeUnit.SECONDS).delivered()).isEqualTo(2);
    assertThat(delivered).containsExactly(u + ":entered:1", u + ":left:1");
    // Released at the end of the pass: the next pass, anywhere, starts at once.
    assertThat(b.deliver(3, 8, () -> {}).leaseBusy()).isFalse();
  }

  @Test
  void aDelivererThatOutlivedItsLeaseStopsMidRowAndItsSuccessorDeliversInOrder() throws Exception {
    String u = userOfShard(5);
    row(u, "entered", 1);
    row(u, "left", 1);
    DeliverySettings shortLease =
        new DeliverySettings(
            3,
            Duration.ofSeconds(1),
            Duration.ofSeconds(1),
            Duration.ofSeconds(1),
            Duration.ofSeconds(20),
            100,
            Duration.ofSeconds(15),
            Duration.ZERO);
    CountDownLatch inTarget = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    TransitionTarget stall =
        r -> {
          if (r.entered() && inTarget.getCount() > 0) {
            inTarget.countDown();
            release.await(20, TimeUnit.SECONDS); // a stalled worker: its lease runs out meanwhile
          }
        };
    OutboxDispatcher stale = dispatcher(shortLease, stall, recorder());
    OutboxDispatcher successor = dispatcher(shortLease, recorder());
    CompletableFuture<DeliveryPass> stalled =
        CompletableFuture.supplyAsync(() -> stale.deliver(5, 8, () -> {}));
    assertThat(inTarget.await(10, TimeUnit.SECONDS)).isTrue();

    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                dsl.fetchExists(
                    DSL.selectOne()
                        .from(DELIVERY_LEASES)
                        .where(DELIVERY_LEASES.SHARD.eq(5))
                        .and(DSL.condition("expires_at < clock_timestamp()"))));
    DeliveryPass took = successor.deliver(5, 8, () -> {});
    assertThat(took.leaseBusy()).isFalse();
    assertThat(delivered).containsExactly(u + ":entered:1", u + ":left:1");

    release.countDown();
    DeliveryPass staleResult = stalled.get(10, TimeUnit.SECONDS);
    assertThat(staleResult.leaseBusy()).isTrue(); // it noticed and stopped
    // Nothing reached the targets after the leave: the stale join was never re-sent behind it.
    assertThat(delivered).containsExactly(u + ":entered:1", u + ":left:1");
  }

  static String userOfShard(int shard) {
    for (int i = 0; ; i++) {
      if (Shards.shardOf("user-" + i, 8) == shard) return "user-" + i;
    }
  }
}
