package dev.bucketflow.membership;

import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.INGEST_BATCHES;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketValidator;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.IngestBatch;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.ingest.PendingEvent;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import dev.bucketflow.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Races two ingest workers (two {@link IngestService}s, each with its own engine, one database) on
 * the same (user, bucket). The contact row locks must serialize them so that the recorded
 * transitions are exactly those of the serial order the database chose, one per real change, with
 * no unique-constraint violation and never two active rows.
 */
class ConcurrentIngestTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final int ROUNDS = 20;
  static final int ITERATIONS = 4;

  static final BucketDefinition TRIAL =
      BucketDefinition.builder("trial").criteria(prop("plan").eq("trial")).build();
  static final BucketDefinition PRO =
      BucketDefinition.builder("pro").criteria(prop("plan").eq("pro")).build();
  static final BucketDefinition TRIAL_ONCE =
      BucketDefinition.builder("trial-once")
          .criteria(prop("plan").eq("trial"))
          .entryLimit(EntryLimit.ONCE)
          .build();

  /** All-time count: only exact if both workers' events are counted. */
  static final BucketDefinition BUSY =
      BucketDefinition.builder("busy").criteria(event("key_action").atLeast(3)).build();

  static final List<BucketDefinition> BUCKETS = List.of(TRIAL, PRO, TRIAL_ONCE, BUSY);

  static TestDatabase db;
  static DSLContext dsl;
  static ExecutorService pool;
  MutableClock clock;
  IngestService workerA;
  IngestService workerB;

  @BeforeAll
  static void start() {
    assertThat(BucketValidator.validate(BUCKETS)).isEmpty();
    db = TestDatabase.fresh();
    dsl = db.dsl();
    pool = Executors.newFixedThreadPool(2);
  }

  @AfterAll
  static void stop() {
    pool.shutdownNow();
    db.close();
  }

  @BeforeEach
  void reset() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, rejected_events, ingest_batches, bucket_memberships, "
            + "bucket_transitions, bucket_configs");
    clock = new MutableClock(T0);
    // Two workers: separate engines (separate caches and switches), one database.
    workerA = new IngestService(dsl, Engines.engine(dsl, BUCKETS), clock);
    workerB = new IngestService(dsl, Engines.engine(dsl, BUCKETS), clock);
  }

  @Test
  void racingDifferentBatchesRecordOneTransitionPerRealChange() throws Exception {
    int returned = 0;
    for (int round = 0; round < ROUNDS; round++) {
      String user = "race-" + round;
      if (round % 2 == 1) {
        // Odd rounds start from an existing contact; even rounds race on creating it too.
        workerA.apply(batch(clock.instant(), event(user, "signup", "{\"plan\":\"free\"}")));
      }
      for (int i = 0; i < ITERATIONS; i++) {
        // Vary the batch shapes so that lock timing varies: the change first or last, other users
        // around.
        IngestBatch a =
            batch(
                clock.instant(),
                shuffled(
                    round + i,
                    event(user, "plan.changed", "{\"plan\":\"trial\"}"),
                    event(user, "key_action"),
                    event("bystander-a-" + round, "key_action")));
        IngestBatch b =
            batch(
                clock.instant(),
                shuffled(
                    round + i + 1,
                    event(user, "plan.changed", "{\"plan\":\"pro\"}"),
                    event(user, "key_action"),
                    event("bystander-b-" + round, "page.view", "{\"plan\":\"free\"}")));
        List<IngestService.Applied> both =
            race(() -> workerA.applyWithTransitions(a), () -> workerB.applyWithTransitions(b));
        returned += both.get(0).transitions().size() + both.get(1).transitions().size();
        clock.advance(Duration.ofMinutes(1));
      }
      for (BucketDefinition bucket : BUCKETS) assertConsistent(user, bucket);
      // Both workers' key_action events were counted: 2 per iteration, so the user is busy, once.
      assertThat(kinds(user, BUSY.id())).as("%s busy", user).containsExactly("entered 1 true");
    }
    // Not vacuous: the database serialized the racing pairs both ways round.
    int aFirst = 0;
    int bFirst = 0;
    for (int round = 0; round < ROUNDS; round++) {
      List<String> plans =
          dsl.select(USER_EVENTS.PROPERTIES)
              .from(USER_EVENTS)
              .where(
                  USER_EVENTS.USER_ID.eq("race-" + round).and(USER_EVENTS.EVENT.eq("plan.changed")))
              .orderBy(USER_EVENTS.ID)
              .fetch(r -> Json.object(r.value1()).path("plan").asText());
      assertThat(plans).hasSize(2 * ITERATIONS);
      for (int i = 0; i < plans.size(); i += 2) {
        if (plans.get(i).equals("trial")) aFirst++;
        else bFirst++;
      }
    }
    System.out.printf(
        "racing pairs: A committed first %d times, B first %d times%n", aFirst, bFirst);
    assertThat(aFirst).as("A serialized first").isPositive();
    assertThat(bFirst).as("B serialized first").isPositive();
    // Every transition a worker reported was written exactly once (the outbox's ON CONFLICT DO
    // NOTHING would otherwise hide a double recording).
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS)).isEqualTo(returned);
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS, BUCKET_TRANSITIONS.BUCKET_ID.eq(TRIAL.id())))
        .as("not vacuous: trial transitions over all rounds")
        .isGreaterThan(ROUNDS * 2);
  }

  @Test
  void opposingMultiUserBatchesNeitherDeadlockNorDoubleRecord() throws Exception {
    int returned = 0;
    for (int round = 0; round < ROUNDS; round++) {
      String u1 = "pair-" + round + "-x";
      String u2 = "pair-" + round + "-y";
      for (int i = 0; i < ITERATIONS; i++) {
        // A names u1 then u2, B names u2 then u1, each moving them in opposite directions.
        IngestBatch a =
            batch(
                clock.instant(),
                event(u1, "plan.changed", "{\"plan\":\"trial\"}"),
                event(u2, "plan.changed", "{\"plan\":\"pro\"}"));
        IngestBatch b =
            batch(
                clock.instant(),
                event(u2, "plan.changed", "{\"plan\":\"trial\"}"),
                event(u1, "plan.changed", "{\"plan\":\"pro\"}"));
        List<IngestService.Applied> both =
            race(() -> workerA.applyWithTransitions(a), () -> workerB.applyWithTransitions(b));
        returned += both.get(0).transitions().size() + both.get(1).transitions().size();
      }
      for (String user : List.of(u1, u2)) {
        for (BucketDefinition bucket : List.of(TRIAL, PRO, TRIAL_ONCE))
          assertConsistent(user, bucket);
      }
    }
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS)).isEqualTo(returned);
  }

  @Test
  void theSameBatchRacingItsRetryIsAppliedOnce() throws Exception {
    for (int round = 0; round < ROUNDS; round++) {
      String user = "retry-" + round;
      IngestBatch original =
          batch(
              clock.instant(),
              event(user, "plan.changed", "{\"plan\":\"trial\"}"),
              event(user, "key_action"),
              event(user, "key_action"),
              event(user, "key_action"),
              event(user, "plan.changed", "{\"plan\":\"pro\"}"),
              event(user, "plan.changed", "{\"plan\":\"trial\"}"));
      // A retry of an activity carries the same batch id; it may run while the original still runs.
      IngestBatch retry =
          new IngestBatch(original.batchId(), original.shard(), copy(original.events()));

      List<IngestService.Applied> both =
          race(
              () -> workerA.applyWithTransitions(original),
              () -> workerB.applyWithTransitions(retry));

      assertThat(both)
          .extracting(r -> r.outcome().duplicateBatch())
          .as("round %d", round)
          .containsExactlyInAnyOrder(true, false);
      IngestService.Applied winner =
          both.get(0).outcome().duplicateBatch() ? both.get(1) : both.get(0);
      IngestService.Applied loser =
          both.get(0).outcome().duplicateBatch() ? both.get(0) : both.get(1);
      assertThat(winner.outcome().stored()).isEqualTo(6);
      assertThat(loser.transitions()).isEmpty();
      assertThat(winner.transitions()).hasSize(9);

      assertThat(kinds(user, TRIAL.id()))
          .containsExactly("entered 1 true", "left 1 true", "entered 2 true");
      assertThat(kinds(user, PRO.id())).containsExactly("entered 1 true", "left 1 true");
      assertThat(kinds(user, TRIAL_ONCE.id()))
          .containsExactly("entered 1 true", "left 1 true", "entered 2 false");
      assertThat(kinds(user, BUSY.id())).containsExactly("entered 1 true");
      for (BucketDefinition bucket : BUCKETS) assertConsistent(user, bucket);
      assertThat(
              dsl.fetchCount(
                  USER_EVENTS,
                  USER_EVENTS.USER_ID.eq(user).and(USER_EVENTS.EVENT.notLike("bucket:%"))))
          .isEqualTo(6);
      // 9 transitions, one suppressed: 8 transition events.
      assertThat(
              dsl.fetchCount(
                  USER_EVENTS,
                  USER_EVENTS.USER_ID.eq(user).and(USER_EVENTS.EVENT.like("bucket:%"))))
          .isEqualTo(8);
    }
    assertThat(dsl.fetchCount(INGEST_BATCHES)).isEqualTo(ROUNDS);
  }

  @Test
  void reapplyingACommittedBatchRecordsNothing() throws Exception {
    String user = "again";
    IngestBatch b =
        batch(
            clock.instant(),
            event(user, "plan.changed", "{\"plan\":\"trial\"}"),
            event(user, "key_action"),
            event(user, "key_action"),
            event(user, "key_action"),
            event(user, "plan.changed", "{\"plan\":\"pro\"}"));
    assertThat(workerA.applyWithTransitions(b).transitions()).hasSize(6);
    int transitions = dsl.fetchCount(BUCKET_TRANSITIONS);
    int events = dsl.fetchCount(USER_EVENTS);
    String memberships = membershipRows(user);

    clock.advance(Duration.ofHours(1));
    // Later, by the other worker, and by both at once.
    IngestService.Applied again = workerB.applyWithTransitions(b);
    assertThat(again.outcome().duplicateBatch()).isTrue();
    assertThat(again.transitions()).isEmpty();
    List<IngestService.Applied> both =
        race(() -> workerA.applyWithTransitions(b), () -> workerB.applyWithTransitions(b));
    assertThat(both)
        .allSatisfy(
            r -> {
              assertThat(r.outcome().duplicateBatch()).isTrue();
              assertThat(r.transitions()).isEmpty();
            });

    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS)).isEqualTo(transitions);
    assertThat(dsl.fetchCount(USER_EVENTS)).isEqualTo(events);
    assertThat(membershipRows(user)).isEqualTo(memberships);
  }

  @Test
  void theSameEventsUnderANewBatchIdChangeNothingOnceStored() throws Exception {
    // A re-batched redelivery: new batch id, same idempotency keys, racing the original.
    String user = "rebatched";
    List<ObjectNode> events =
        List.of(
            keyed(event(user, "plan.changed", "{\"plan\":\"trial\"}"), "k1"),
            keyed(event(user, "key_action"), "k2"),
            keyed(event(user, "key_action"), "k3"),
            keyed(event(user, "key_action"), "k4"),
            keyed(event(user, "plan.changed", "{\"plan\":\"pro\"}"), "k5"));
    IngestBatch first = batch(clock.instant(), events);
    IngestBatch second = batch(clock.instant(), events.stream().map(ObjectNode::deepCopy).toList());
    assertThat(first.batchId()).isNotEqualTo(second.batchId());

    List<IngestService.Applied> both =
        race(() -> workerA.applyWithTransitions(first), () -> workerB.applyWithTransitions(second));

    assertThat(both).extracting(r -> r.outcome().duplicateBatch()).containsOnly(false);
    assertThat(both).extracting(r -> r.outcome().stored()).containsExactlyInAnyOrder(5, 0);
    assertThat(both).extracting(r -> r.transitions().size()).containsExactlyInAnyOrder(6, 0);
    assertThat(kinds(user, TRIAL.id())).containsExactly("entered 1 true", "left 1 true");
    assertThat(kinds(user, BUSY.id())).containsExactly("entered 1 true");
    for (BucketDefinition bucket : BUCKETS) assertConsistent(user, bucket);
  }

  // ---------------------------------------------------------------------------------------------

  interface Call<T> {
    T call() throws Exception;
  }

  /** Runs both calls on two threads released together; rethrows the first failure. */
  static <T> List<T> race(Call<T> first, Call<T> second) throws Exception {
    CyclicBarrier start = new CyclicBarrier(2);
    Future<T> a =
        pool.submit(
            () -> {
              start.await(10, TimeUnit.SECONDS);
              return first.call();
            });
    Future<T> b =
        pool.submit(
            () -> {
              start.await(10, TimeUnit.SECONDS);
              return second.call();
            });
    // Any exception (unique violation, deadlock, serialization failure) surfaces here.
    return List.of(a.get(30, TimeUnit.SECONDS), b.get(30, TimeUnit.SECONDS));
  }

  static List<ObjectNode> shuffled(int seed, ObjectNode... events) {
    List<ObjectNode> list = new ArrayList<>(List.of(events));
    java.util.Collections.shuffle(list, new java.util.Random(seed));
    return list;
  }

  static ObjectNode keyed(ObjectNode event, String key) {
    return event.put("idempotencyKey", key);
  }

  static List<PendingEvent> copy(List<PendingEvent> events) {
    return events.stream()
        .map(p -> new PendingEvent(p.payload().deepCopy(), p.receivedAtMillis()))
        .toList();
  }

  /** (kind, epoch, emitted) of one (user, bucket), in recording order. */
  static List<String> kinds(String user, String bucket) {
    var t = BUCKET_TRANSITIONS;
    return dsl.select(t.KIND, t.EPOCH, t.EMITTED)
        .from(t)
        .where(t.USER_ID.eq(user).and(t.BUCKET_ID.eq(bucket)))
        .orderBy(t.ID)
        .fetch()
        .map(r -> r.value1() + " " + r.value2() + " " + r.value3());
  }

  static String membershipRows(String user) {
    var m = BUCKET_MEMBERSHIPS;
    return dsl.select(m.BUCKET_ID, m.STATUS, m.ENTRY_COUNT, m.ENTERED_AT, m.LEFT_AT, m.EXPIRES_AT)
        .from(m)
        .where(m.USER_ID.eq(user))
        .orderBy(m.BUCKET_ID, m.ENTRY_COUNT)
        .fetch()
        .toString();
  }

  /**
   * The recorded transitions of (user, bucket) are exactly those of replaying the user's stored
   * events in the order the database serialized them (user_events ids are assigned under the
   * contact lock), and the membership rows agree with them.
   */
  void assertConsistent(String user, BucketDefinition bucket) {
    List<String> actual = kinds(user, bucket.id());
    List<String> expected = serialReplay(user, bucket);
    assertThat(actual)
        .as("%s in %s: transitions vs the serial replay", user, bucket.id())
        .isEqualTo(expected);

    // Alternating entered/left with epochs 1,1,2,2,...
    for (int i = 0; i < actual.size(); i++) {
      String[] parts = actual.get(i).split(" ");
      assertThat(parts[0])
          .as("%s in %s #%d", user, bucket.id(), i)
          .isEqualTo(i % 2 == 0 ? "entered" : "left");
      assertThat(Integer.parseInt(parts[1]))
          .as("%s in %s #%d epoch", user, bucket.id(), i)
          .isEqualTo(i / 2 + 1);
    }

    var m = BUCKET_MEMBERSHIPS;
    var rows =
        dsl.select(m.STATUS, m.ENTRY_COUNT, m.LEFT_AT)
            .from(m)
            .where(m.USER_ID.eq(user).and(m.BUCKET_ID.eq(bucket.id())))
            .orderBy(m.ENTRY_COUNT)
            .fetch();
    int joins = (actual.size() + 1) / 2;
    boolean member = actual.size() % 2 == 1;
    assertThat(rows).as("%s in %s: one row per join", user, bucket.id()).hasSize(joins);
    for (int i = 0; i < rows.size(); i++) {
      var r = rows.get(i);
      boolean last = i == rows.size() - 1;
      assertThat(r.value2()).isEqualTo(i + 1);
      assertThat(r.value1().db())
          .as("%s in %s row %d", user, bucket.id(), i + 1)
          .isEqualTo(last && member ? "active" : "left");
      assertThat(r.value3() == null).isEqualTo(last && member);
    }
    assertThat(
            dsl.fetchCount(
                m,
                m.USER_ID
                    .eq(user)
                    .and(m.BUCKET_ID.eq(bucket.id()))
                    .and(m.STATUS.eq(MembershipStatus.ACTIVE))))
        .isLessThanOrEqualTo(1);
  }

  /** A tiny reference model of DESIGN §7 for the buckets of this test. */
  static List<String> serialReplay(String user, BucketDefinition bucket) {
    var e = USER_EVENTS;
    List<String> out = new ArrayList<>();
    ObjectNode props = Json.MAPPER.createObjectNode();
    long keyActions = 0;
    boolean member = false;
    int epoch = 0;
    for (var r :
        dsl.select(e.EVENT, e.PROPERTIES)
            .from(e)
            .where(e.USER_ID.eq(user).and(e.EVENT.notLike("bucket:%")))
            .orderBy(e.ID)
            .fetch()) {
      ObjectNode p = Json.object(r.value2());
      props.setAll(p);
      if (r.value1().equals("key_action")) keyActions++;
      boolean candidate = bucket == BUSY ? r.value1().equals("key_action") : p.has("plan");
      if (!candidate) continue;
      Predicate<ObjectNode> criteria =
          bucket == BUSY
              ? x -> true
              : bucket == PRO
                  ? x -> "pro".equals(x.path("plan").asText(null))
                  : x -> "trial".equals(x.path("plan").asText(null));
      boolean matches = bucket == BUSY ? keyActions >= 3 : criteria.test(props);
      if (!member && matches) {
        epoch++;
        member = true;
        boolean emitted = bucket.entryLimit() != EntryLimit.ONCE || epoch == 1;
        out.add("entered " + epoch + " " + emitted);
      } else if (member && !matches) {
        member = false;
        out.add("left " + epoch + " true");
      }
    }
    return out;
  }
}
