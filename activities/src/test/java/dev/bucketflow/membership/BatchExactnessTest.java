package dev.bucketflow.membership;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.any;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.bucket.Durations.hours;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketValidator;
import dev.bucketflow.bucket.CountOperator;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.Events;
import dev.bucketflow.testing.MutableClock;
import dev.bucketflow.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Differential test of DESIGN §7 "Exactness": a generated event stream applied in random-sized
 * batches must record exactly the transitions (and leave exactly the memberships) that the same
 * stream applied one event per batch records, each run in its own fresh database with the same
 * clock. Seeds are fixed, so every failure reproduces.
 */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(1)
class BatchExactnessTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final int USERS = 30;
  static final int EVENTS = 300;

  /** Property-only with an exclusion leg (neq). */
  static final BucketDefinition FREE_UNCONVERTED =
      BucketDefinition.builder("free-unconverted")
          .criteria(all(prop("plan").eq("free"), prop("converted").neq(true)))
          .build();

  /** Windowed count gte. */
  static final BucketDefinition POWER =
      BucketDefinition.builder("power")
          .criteria(event("key_action").within(days(30)).atLeast(3))
          .build();

  /** Windowed exists. */
  static final BucketDefinition RECENTLY_ACTIVE =
      BucketDefinition.builder("recently-active")
          .criteria(event("app.active").within(days(7)).exists())
          .build();

  /** OR composite: a property leg or a windowed count leg. */
  static final BucketDefinition PRO_OR_BROWSING =
      BucketDefinition.builder("pro-or-browsing")
          .criteria(any(prop("plan").eq("pro"), event("page.view").within(days(14)).atLeast(2)))
          .build();

  /** AND composite mixing property and event legs (and a numeric comparison). */
  static final BucketDefinition BUSY_TRIAL =
      BucketDefinition.builder("busy-trial")
          .criteria(
              all(
                  prop("plan").eq("trial"),
                  prop("seats").gte(2),
                  event("key_action").within(days(10)).exists()))
          .build();

  /** entryLimit once. */
  static final BucketDefinition TRIAL_ONCE =
      BucketDefinition.builder("trial-once")
          .criteria(prop("plan").eq("trial"))
          .entryLimit(EntryLimit.ONCE)
          .build();

  /** entryLimit once_per_period. */
  static final BucketDefinition PRO_DAILY =
      BucketDefinition.builder("pro-daily")
          .criteria(prop("plan").eq("pro"))
          .oncePer(days(1))
          .build();

  /** minDwell (and a maxDwell stamp). */
  static final BucketDefinition BIG_TEAM =
      BucketDefinition.builder("big-team")
          .criteria(prop("seats").gte(5))
          .minDwell(hours(6))
          .maxDwell(days(3))
          .build();

  /** A decaying-true leg (count lt) under an AND with a property leg. */
  static final BucketDefinition CONVERTED_QUIET =
      BucketDefinition.builder("converted-quiet")
          .criteria(
              all(
                  prop("converted").eq(true),
                  event("page.view").within(days(5)).count(CountOperator.LT, 2)))
          .build();

  /** Dormancy shape: a windowed not_exists leg (event path only here; no reconcile sweep runs). */
  static final BucketDefinition PRO_DORMANT =
      BucketDefinition.builder("pro-dormant")
          .criteria(all(prop("plan").eq("pro"), event("app.active").within(days(3)).notExists()))
          .build();

  /** count eq: turns false by decay and can also turn true by decay. */
  static final BucketDefinition TWO_VIEWS =
      BucketDefinition.builder("two-views")
          .criteria(event("page.view").within(days(3)).count(CountOperator.EQ, 2))
          .build();

  /**
   * All-time count gt on an event other buckets window (the loader's horizon vs all-time count).
   */
  static final BucketDefinition VETERAN =
      BucketDefinition.builder("veteran")
          .criteria(event("key_action").count(CountOperator.GT, 5))
          .build();

  /** contains, and lt on a property that is sometimes a string or null. */
  static final BucketDefinition TRIALISH_OR_SOLO =
      BucketDefinition.builder("trialish-or-solo")
          .criteria(any(prop("plan").contains("ri"), prop("seats").lt(1)))
          .build();

  static final List<BucketDefinition> BUCKETS =
      List.of(
          FREE_UNCONVERTED,
          POWER,
          RECENTLY_ACTIVE,
          PRO_OR_BROWSING,
          BUSY_TRIAL,
          TRIAL_ONCE,
          PRO_DAILY,
          BIG_TEAM,
          CONVERTED_QUIET,
          PRO_DORMANT,
          TWO_VIEWS,
          VETERAN,
          TRIALISH_OR_SOLO);

  static final String[] VOCABULARY = {"key_action", "app.active", "page.view", "plan.changed"};
  static final String[] PLANS = {"free", "trial", "pro"};

  /** Non-vacuity totals over all seeds. */
  static final Map<String, Integer> ENTERED_BY_BUCKET = new TreeMap<>();

  static final AtomicInteger SUPPRESSED_JOINS = new AtomicInteger();
  static final AtomicInteger DEFERRED_LEAVES = new AtomicInteger();
  static final AtomicInteger SEEDS_RUN = new AtomicInteger();

  @Test
  void bucketDefinitionsAreValid() {
    assertThat(BucketValidator.validate(BUCKETS)).isEmpty();
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 7L, 42L, 1234L, 987654321L})
  void batchedStreamRecordsExactlyWhatOneEventPerBatchRecords(long seed) {
    Stream stream = Stream.generate(seed);

    Run batched;
    Run single;
    try (TestDatabase a = TestDatabase.fresh();
        TestDatabase b = TestDatabase.fresh()) {
      batched = run(a.dsl(), stream, true);
      single = run(b.dsl(), stream, false);
    }

    assertThat(batched.transitions)
        .as("seed %d: transitions per (user, bucket), batched vs one event per batch", seed)
        .isEqualTo(single.transitions);
    assertThat(batched.memberships)
        .as("seed %d: final memberships, batched vs one event per batch", seed)
        .isEqualTo(single.memberships);
    assertThat(batched.transitionEventKeys)
        .as("seed %d: bucket:* user events", seed)
        .isEqualTo(single.transitionEventKeys);
    assertThat(batched.contacts)
        .as("seed %d: merged contact properties", seed)
        .isEqualTo(single.contacts);
    assertThat(batched.storedEvents)
        .as("seed %d: stored user events", seed)
        .isEqualTo(single.storedEvents);

    // Not vacuous.
    int total = batched.transitions.values().stream().mapToInt(List::size).sum();
    System.out.printf(
        "seed %d: %d chunks, %d transitions, %d memberships, %d joined+left in one batch, "
            + "%d duplicates, %d stored events%n",
        seed,
        stream.chunkSizes.size(),
        total,
        batched.memberships.size(),
        batched.joinedAndLeftInOneBatch.size(),
        stream.duplicates,
        batched.storedEvents);
    assertThat(total).as("seed %d: transitions recorded", seed).isGreaterThan(20);
    assertThat(batched.joinedAndLeftInOneBatch)
        .as(
            "seed %d: some (user, bucket) joined and left inside a single batch in batched mode",
            seed)
        .isNotEmpty();
    assertThat(stream.duplicates)
        .as("seed %d: duplicate idempotency keys generated", seed)
        .isGreaterThan(0);
    assertThat(batched.storedEvents)
        .as("seed %d: duplicates were dropped", seed)
        .isLessThan(stream.events.size());

    synchronized (ENTERED_BY_BUCKET) {
      batched.transitions.forEach(
          (key, list) -> {
            long entered = list.stream().filter(s -> s.startsWith("entered")).count();
            ENTERED_BY_BUCKET.merge(
                key.substring(key.indexOf('|') + 1), (int) entered, Integer::sum);
            SUPPRESSED_JOINS.addAndGet(
                (int) list.stream().filter(s -> s.endsWith("false")).count());
          });
      DEFERRED_LEAVES.addAndGet(batched.deferredLeaves);
    }
    SEEDS_RUN.incrementAndGet();
  }

  @AfterAll
  static void everyBucketAndGateWasExercised() {
    if (SEEDS_RUN.get() < 5)
      return; // a filtered run (single seed): the coverage totals do not apply
    for (BucketDefinition b : BUCKETS) {
      assertThat(ENTERED_BY_BUCKET.getOrDefault(b.id(), 0))
          .as("joins of %s over all seeds", b.id())
          .isPositive();
    }
    assertThat(SUPPRESSED_JOINS.get()).as("joins suppressed by an entryLimit").isPositive();
    assertThat(DEFERRED_LEAVES.get())
        .as("leaves deferred by minDwell observed at the end")
        .isPositive();
  }

  // ---------------------------------------------------------------------------------------------

  /** A generated stream: events in order, cut into chunks; the clock moves between chunks. */
  static final class Stream {
    final List<ObjectNode> events = new ArrayList<>();
    final List<Integer> chunkSizes = new ArrayList<>();
    final List<Duration> advances = new ArrayList<>();
    int duplicates;

    static Stream generate(long seed) {
      Random rnd = new Random(seed);
      Stream s = new Stream();
      List<ObjectNode> keyed = new ArrayList<>();
      int n = 0;
      while (s.events.size() < EVENTS) {
        String user = String.format("u%02d", rnd.nextInt(USERS));
        // Bursts of one user's events make joins and leaves inside one batch likely.
        int burst = rnd.nextInt(10) < 7 ? 1 : 2 + rnd.nextInt(5);
        for (int i = 0; i < burst && s.events.size() < EVENTS; i++) {
          int dice = rnd.nextInt(100);
          if (dice < 4 && !keyed.isEmpty()) {
            // A redelivery: exactly the same event, same idempotency key.
            s.events.add(keyed.get(rnd.nextInt(keyed.size())).deepCopy());
            s.duplicates++;
            continue;
          }
          ObjectNode e = randomEvent(rnd, user);
          if (dice < 6 && !keyed.isEmpty()) {
            // Same key, different content: whichever is stored first wins, in both modes.
            e.put(
                "idempotencyKey",
                keyed.get(rnd.nextInt(keyed.size())).get("idempotencyKey").asText());
            s.duplicates++;
          } else if (rnd.nextInt(10) < 8) {
            e.put("idempotencyKey", "s" + seed + "-e" + (n++));
            keyed.add(e);
          }
          s.events.add(e);
        }
      }
      int covered = 0;
      while (covered < EVENTS) {
        int size = Math.min(1 + rnd.nextInt(50), EVENTS - covered);
        s.chunkSizes.add(size);
        // Mostly a few hours, sometimes none, sometimes more than a day.
        int kind = rnd.nextInt(10);
        Duration advance =
            kind < 2
                ? Duration.ZERO
                : kind < 9
                    ? Duration.ofMinutes(rnd.nextInt(12 * 60))
                    : Duration.ofHours(24 + rnd.nextInt(24));
        s.advances.add(advance);
        covered += size;
      }
      return s;
    }

    static ObjectNode randomEvent(Random rnd, String user) {
      String name = VOCABULARY[rnd.nextInt(VOCABULARY.length)];
      ObjectNode e = Events.event(user, name);
      ObjectNode props = Json.MAPPER.createObjectNode();
      if (name.equals("plan.changed") || rnd.nextInt(10) < 3)
        props.put("plan", PLANS[rnd.nextInt(PLANS.length)]);
      if (rnd.nextInt(30) == 0)
        props.putNull("plan"); // JSON null: stored, never "exists", neq holds
      if (rnd.nextInt(10) < 3) props.put("converted", rnd.nextBoolean());
      if (rnd.nextInt(10) < 3) {
        int seats = rnd.nextInt(9);
        int form = rnd.nextInt(10);
        if (form == 0) props.put("seats", Integer.toString(seats)); // a string never compares
        else if (form == 1) props.put("seats", seats + 0.0); // 6.0 compares like 6
        else if (form == 2) props.putNull("seats");
        else props.put("seats", seats);
      }
      if (rnd.nextInt(20) == 0) props.put("color", "blue"); // referenced by no bucket
      if (!props.isEmpty() || rnd.nextBoolean()) e.set("properties", props);
      if (rnd.nextInt(10) != 0) {
        // Millisecond precision, spread over the 40 days before T0 (the clock only moves forward).
        long ms = (long) (rnd.nextDouble() * Duration.ofDays(40).toMillis());
        Events.at(e, T0.minusMillis(ms));
      } // else occurredAt defaults to the batch's receivedAt (= the clock)
      return e;
    }
  }

  /** What one mode left in its database. */
  record Run(
      Map<String, List<String>> transitions,
      List<String> memberships,
      List<String> transitionEventKeys,
      List<String> contacts,
      int storedEvents,
      Set<String> joinedAndLeftInOneBatch,
      int deferredLeaves) {}

  static Run run(DSLContext dsl, Stream stream, boolean batched) {
    MutableClock clock = new MutableClock(T0);
    IngestService ingest = new IngestService(dsl, Engines.engine(dsl, BUCKETS), clock);
    Set<String> joinedAndLeft = new HashSet<>();
    int next = 0;
    for (int c = 0; c < stream.chunkSizes.size(); c++) {
      List<ObjectNode> chunk = new ArrayList<>();
      for (int i = 0; i < stream.chunkSizes.get(c); i++)
        chunk.add(stream.events.get(next++).deepCopy());
      if (batched) {
        List<Transition> recorded =
            ingest.applyWithTransitions(Events.batch(clock.instant(), chunk)).transitions();
        Map<String, Set<TransitionKind>> kinds = new HashMap<>();
        for (Transition t : recorded) {
          kinds
              .computeIfAbsent(t.userId() + "|" + t.bucketId(), k -> new HashSet<>())
              .add(t.kind());
        }
        kinds.forEach(
            (k, v) -> {
              if (v.size() == 2) joinedAndLeft.add(k);
            });
      } else {
        for (ObjectNode e : chunk) ingest.apply(Events.batch(clock.instant(), e));
      }
      clock.advance(stream.advances.get(c));
    }
    return snapshot(dsl, joinedAndLeft);
  }

  static Run snapshot(DSLContext dsl, Set<String> joinedAndLeft) {
    var t = BUCKET_TRANSITIONS;
    Map<String, List<String>> transitions = new TreeMap<>();
    dsl.select(t.USER_ID, t.BUCKET_ID, t.KIND, t.EPOCH, t.EMITTED, t.SOURCE)
        .from(t)
        .orderBy(t.ID)
        .forEach(
            r ->
                transitions
                    .computeIfAbsent(r.value1() + "|" + r.value2(), k -> new ArrayList<>())
                    .add(r.value3() + " " + r.value4() + " " + r.value6() + " " + r.value5()));

    var m = BUCKET_MEMBERSHIPS;
    List<String> memberships =
        dsl.select(
                m.USER_ID,
                m.BUCKET_ID,
                m.STATUS,
                m.ENTRY_COUNT,
                m.EXPIRES_AT,
                m.ENTERED_AT,
                m.LEFT_AT,
                m.MAX_DWELL_AT,
                m.DELETED_AT)
            .from(m)
            .orderBy(m.USER_ID, m.BUCKET_ID, m.ENTRY_COUNT)
            .fetch()
            .map(
                r ->
                    String.join(
                        " ",
                        r.value1(),
                        r.value2(),
                        r.value3().db(),
                        "entry=" + r.value4(),
                        // expires_at means something only on an active row (every reader filters on
                        // status =
                        // 'active'); a left row keeps whatever deadline was last flushed before the
                        // leave, which
                        // legitimately differs when a batch restamps and leaves the same row in one
                        // go (e.g. a
                        // minDwell deferral lifted and a leave in one batch).
                        "expires=" + (r.value3() == MembershipStatus.ACTIVE ? r.value5() : "n/a"),
                        "entered=" + r.value6(),
                        "left=" + r.value7(),
                        "maxDwell=" + r.value8(),
                        "deleted=" + r.value9()));

    int deferred =
        dsl.fetchCount(
            dsl.selectFrom(m)
                .where(
                    m.BUCKET_ID
                        .eq(BIG_TEAM.id())
                        .and(m.STATUS.eq(MembershipStatus.ACTIVE))
                        .and(m.EXPIRES_AT.isNotNull())));

    var e = USER_EVENTS;
    List<String> keys =
        dsl.select(e.IDEMPOTENCY_KEY)
            .from(e)
            .where(e.EVENT.like("bucket:%"))
            .orderBy(e.IDEMPOTENCY_KEY)
            .fetch(e.IDEMPOTENCY_KEY);
    int stored = dsl.fetchCount(e, e.EVENT.notLike("bucket:%"));

    List<String> contacts =
        dsl.select(CONTACTS.EXTERNAL_ID, CONTACTS.PROPERTIES)
            .from(CONTACTS)
            .orderBy(CONTACTS.EXTERNAL_ID)
            .fetch()
            .map(r -> r.value1() + " " + Json.object(r.value2()));

    return new Run(transitions, memberships, keys, contacts, stored, joinedAndLeft, deferred);
  }
}
