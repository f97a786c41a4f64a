package dev.bucketflow.event;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static dev.bucketflow.schema.Tables.USER_EVENT_ROLLUPS;
import static dev.bucketflow.testing.Events.batch;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.backfill.BackfillService;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.criteria.CriteriaSql;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import dev.bucketflow.reconcile.ReconcileService;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.Events;
import dev.bucketflow.testing.MutableClock;
import dev.bucketflow.testing.TestDatabase;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bounded event storage (DESIGN §13): all-time facts in {@code user_event_rollups}, raw events in
 * day partitions of {@code user_events} dropped after the retention. A fresh database per test: the
 * partition layout depends on each test's clock.
 */
class EventStorageTest {

  static final Instant T0 = Instant.parse("2026-11-01T12:00:00Z");

  /** Windowed: needs raw events of the last day. */
  static final BucketDefinition RECENT =
      BucketDefinition.builder("recent").criteria(event("login").within(days(1)).exists()).build();

  /** All-time legs: must keep exactly their members after the raw events are gone. */
  static final BucketDefinition BUYER =
      BucketDefinition.builder("buyer").criteria(event("purchase").exists()).build();

  static final BucketDefinition FREQUENT =
      BucketDefinition.builder("frequent").criteria(event("purchase").atLeast(2)).build();
  static final BucketDefinition NEVER_BOUGHT =
      BucketDefinition.builder("never-bought")
          .criteria(all(prop("plan").eq("free"), event("purchase").notExists()))
          .build();
  static final List<BucketDefinition> BUCKETS = List.of(RECENT, BUYER, FREQUENT, NEVER_BOUGHT);

  TestDatabase db;
  DSLContext dsl;
  MutableClock clock;

  @BeforeEach
  void open() {
    db = TestDatabase.fresh();
    dsl = db.dsl();
    clock = new MutableClock(T0);
  }

  @AfterEach
  void close() {
    db.close();
  }

  EventPartitions storage(Duration retention) {
    return new EventPartitions(dsl, clock, retention, 3, Duration.ofMillis(300));
  }

  Map<String, Set<String>> activeMembers() {
    var m = BUCKET_MEMBERSHIPS;
    Map<String, Set<String>> out = new TreeMap<>();
    BUCKETS.forEach(b -> out.put(b.id(), new TreeSet<>()));
    dsl.select(m.BUCKET_ID, m.USER_ID)
        .from(m)
        .where(m.STATUS.eq(MembershipStatus.ACTIVE).and(m.DELETED_AT.isNull()))
        .forEach(r -> out.get(r.value1()).add(r.value2()));
    return out;
  }

  /**
   * Who the SQL compiler (backfill, preview, reconcile joins) finds for a bucket, from the tables
   * alone.
   */
  Set<String> sqlMembers(BucketDefinition bucket) {
    return new TreeSet<>(
        dsl.select(CONTACTS.EXTERNAL_ID)
            .from(CONTACTS)
            .where(
                CriteriaSql.predicate(
                    bucket.criteria(), CONTACTS.EXTERNAL_ID, CONTACTS.PROPERTIES, clock.instant()))
            .fetch(CONTACTS.EXTERNAL_ID));
  }

  boolean tableExists(String name) {
    return dsl.fetchValue("select to_regclass(?) is not null", name).equals(Boolean.TRUE);
  }

  @Test
  void
      withADayWindowAndTwoDaysRetentionTenDayOldEventsAreDroppedWithTheirPartitionAndAllTimeBucketsKeepTheirMembers() {
    EventPartitions storage = storage(Duration.ofDays(2));
    StorageMaintenance first = storage.maintain();
    assertThat(first.created()).contains("user_events_p20261101", "user_events_p20261104");
    BucketCatalog catalog = Engines.catalog(dsl, BUCKETS);
    EventHistoryLoader history = new EventHistoryLoader();
    IngestService ingest =
        new IngestService(
            dsl,
            new MembershipEngine(
                catalog, new MembershipStore(), history, TransitionWriter.withoutGenericEvents()),
            clock);
    ReconcileService reconcile =
        new ReconcileService(
            dsl,
            catalog,
            new UserStates(history),
            TransitionWriter.withoutGenericEvents(),
            clock,
            100,
            null);
    ingest.apply(
        batch(
            T0,
            Events.event("ann", "purchase", "{\"plan\":\"pro\"}"),
            Events.event("ann", "purchase"),
            Events.event("ann", "login"),
            Events.event("bob", "purchase", "{\"plan\":\"free\"}"),
            Events.event("cat", "login", "{\"plan\":\"free\"}")));
    Map<String, Set<String>> before = activeMembers();
    assertThat(before)
        .isEqualTo(
            Map.of(
                "recent",
                Set.of("ann", "cat"),
                "buyer",
                Set.of("ann", "bob"),
                "frequent",
                Set.of("ann"),
                "never-bought",
                Set.of("cat")));
    assertThat(
            dsl.fetchValue(
                "select tableoid::regclass::text from user_events where user_id = 'bob' and event = 'purchase'"))
        .isEqualTo("user_events_p20261101");

    clock.set(T0.plus(Duration.ofDays(10)));
    StorageMaintenance later = storage.maintain();

    assertThat(later.dropped())
        .contains("user_events_p20261101")
        .doesNotContain("user_events_default");
    assertThat(tableExists("user_events_p20261101")).isFalse();
    assertThat(later.strayRowsDeleted()).isZero(); // dropped whole, not deleted row by row
    assertThat(dsl.fetchCount(USER_EVENTS)).as("the ten-day-old events are gone").isZero();
    assertThat(
            dsl.fetchValue(
                "select total_count from user_event_rollups where user_id = 'ann' and event = 'purchase'"))
        .isEqualTo(2L);

    // The sweep lets the day-window members go and nobody else; the SQL compiler agrees.
    for (BucketDefinition b : BUCKETS) reconcile.sweep(b.id(), progress -> {});
    Map<String, Set<String>> after = activeMembers();
    assertThat(after.get("recent")).isEmpty();
    for (BucketDefinition allTime : List.of(BUYER, FREQUENT, NEVER_BOUGHT)) {
      assertThat(after.get(allTime.id())).as(allTime.id()).isEqualTo(before.get(allTime.id()));
      assertThat(sqlMembers(allTime))
          .as(allTime.id() + " in SQL")
          .isEqualTo(before.get(allTime.id()));
    }
    // A re-evaluation backfill (SQL candidates, evaluator verdicts) changes none of them.
    BackfillService backfill =
        new BackfillService(
            dsl,
            catalog,
            new UserStates(history),
            TransitionWriter.withoutGenericEvents(),
            clock,
            100);
    for (BucketDefinition allTime : List.of(BUYER, FREQUENT, NEVER_BOUGHT)) {
      long job =
          backfill.restart(allTime.id(), BucketJson.fingerprint(allTime), BackfillKind.REEVAL).id();
      while (true) {
        var chunk = backfill.runChunk(job);
        assertThat(chunk.joined() + chunk.left()).as(allTime.id()).isZero();
        if (chunk.done()) break;
      }
    }
    assertThat(activeMembers()).isEqualTo(after);

    // A new purchase counts on top of the dropped ones: bob's second purchase makes him frequent.
    ingest.apply(batch(clock.instant(), Events.event("bob", "purchase")));
    assertThat(activeMembers().get("frequent")).containsExactly("ann", "bob");
    assertThat(
            dsl.select(
                    USER_EVENT_ROLLUPS.TOTAL_COUNT,
                    USER_EVENT_ROLLUPS.FIRST_AT,
                    USER_EVENT_ROLLUPS.LAST_AT)
                .from(USER_EVENT_ROLLUPS)
                .where(
                    USER_EVENT_ROLLUPS
                        .USER_ID
                        .eq("bob")
                        .and(USER_EVENT_ROLLUPS.EVENT.eq("purchase")))
                .fetchOne()
                .intoList())
        .containsExactly(2L, T0, T0.plus(Duration.ofDays(10)));
  }

  @Test
  void theDefaultPartitionsRowsMoveIntoTheirDayWhenItIsCreatedAndArePrunedPastTheRetention() {
    Instant late = T0.minus(Duration.ofDays(30));
    // No day partition yet (a worker that never ran maintenance): both land in the default one.
    EventLog.append(
        dsl,
        List.of(
            new EventLog.Entry("ann", "login", "{}", T0, T0, "k1"),
            new EventLog.Entry("ann", "login", "{}", late, T0, "k2")));
    assertThat(dsl.fetchValue("select count(*) from user_events_default")).isEqualTo(2L);

    StorageMaintenance pass = storage(Duration.ofDays(2)).maintain();

    assertThat(pass.movedRows()).isEqualTo(1);
    assertThat(
            dsl.fetch("select tableoid::regclass::text from user_events order by occurred_at")
                .getValues(0, String.class))
        .containsExactly("user_events_p20261101");
    assertThat(pass.strayRowsDeleted()).as("dated before the retention").isEqualTo(1);
    assertThat(dsl.fetchValue("select total_count from user_event_rollups where user_id = 'ann'"))
        .as("the rollup still counts it")
        .isEqualTo(2L);
    assertThat(
            dsl.fetchOne("select first_at from user_event_rollups where user_id = 'ann'")
                .get(0, Instant.class))
        .isEqualTo(late);
  }

  @Test
  void aKeyIsDeduplicatedWithinTheRetentionAndPrunedAfterIt() {
    EventPartitions storage = storage(Duration.ofDays(2));
    storage.maintain();
    EventLog.Entry entry = new EventLog.Entry("ann", "order", "{\"n\":1}", T0, T0, "order-1");
    assertThat(EventLog.append(dsl, List.of(entry, entry))).containsExactly(true, false);
    assertThat(EventLog.append(dsl, List.of(entry))).containsExactly(false);
    assertThat(
            EventLog.append(
                dsl, List.of(new EventLog.Entry("bob", "order", "{}", T0, T0, "order-1"))))
        .as("keys are per user")
        .containsExactly(true);

    clock.set(T0.plus(Duration.ofDays(3)));
    assertThat(storage.maintain().keysPruned()).isEqualTo(2);
    assertThat(dsl.fetchCount(dsl.selectFrom("user_event_keys"))).isZero();
  }

  @Test
  void aDropThatCannotGetItsLockIsSkippedWithoutWaitingAndTheNextPassDropsIt() throws Exception {
    EventPartitions storage = storage(Duration.ofDays(2));
    storage.maintain();
    EventLog.append(dsl, List.of(new EventLog.Entry("ann", "login", "{}", T0, T0, null)));
    clock.set(T0.plus(Duration.ofDays(10)));
    try (Connection reader = db.dataSource().getConnection()) {
      // A long report reading the old day holds ACCESS SHARE on it until it commits.
      reader.setAutoCommit(false);
      reader.createStatement().executeQuery("select count(*) from user_events_p20261101").close();
      long started = System.nanoTime();
      StorageMaintenance blocked = storage.maintain();
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
      assertThat(blocked.skipped()).contains("drop user_events_p20261101");
      assertThat(blocked.dropped()).doesNotContain("user_events_p20261101");
      assertThat(tableExists("user_events_p20261101")).isTrue();
      reader.rollback();
    }
    assertThat(storage.maintain().dropped()).containsExactly("user_events_p20261101");
  }

  /**
   * Creating a day attaches a table: ingest holding its insert open does not stop it, nor is it
   * stopped.
   */
  @Test
  void creatingPartitionsDoesNotWaitForAnOpenIngestTransaction() throws Exception {
    EventPartitions storage = storage(Duration.ofDays(2));
    storage.maintain();
    CountDownLatch inserted = new CountDownLatch(1);
    CountDownLatch maintained = new CountDownLatch(1);
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<?> ingest =
          pool.submit(
              () ->
                  dsl.transaction(
                      cfg -> {
                        EventLog.append(
                            cfg.dsl(),
                            List.of(new EventLog.Entry("ann", "login", "{}", T0, T0, "open-1")));
                        inserted.countDown();
                        assertThat(maintained.await(30, TimeUnit.SECONDS)).isTrue();
                      }));
      assertThat(inserted.await(30, TimeUnit.SECONDS)).isTrue();
      clock.set(T0.plus(Duration.ofDays(1)));
      StorageMaintenance pass = storage.maintain();
      maintained.countDown();
      ingest.get(30, TimeUnit.SECONDS);
      assertThat(pass.skipped()).isEmpty();
      assertThat(pass.created()).containsExactly("user_events_p20261105");
    } finally {
      pool.shutdownNow();
    }
    assertThat(dsl.fetchCount(USER_EVENTS)).isEqualTo(1);
  }

  /** Two workers' passes at once (a deploy): one lock, the same partitions, no error. */
  @Test
  void concurrentPassesConvergeOnOneLayout() throws Exception {
    EventPartitions a = storage(Duration.ofDays(2));
    EventPartitions b =
        new EventPartitions(dsl, clock, Duration.ofDays(2), 3, Duration.ofSeconds(5));
    CyclicBarrier start = new CyclicBarrier(2);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<StorageMaintenance>> passes = new ArrayList<>();
      for (EventPartitions p : List.of(a, b)) {
        passes.add(
            pool.submit(
                () -> {
                  start.await(10, TimeUnit.SECONDS);
                  return p.maintain();
                }));
      }
      List<String> created = new ArrayList<>();
      for (Future<StorageMaintenance> f : passes)
        created.addAll(f.get(30, TimeUnit.SECONDS).created());
      assertThat(created)
          .containsExactlyInAnyOrder(
              "user_events_p20261031",
              "user_events_p20261101",
              "user_events_p20261102",
              "user_events_p20261103",
              "user_events_p20261104");
    } finally {
      pool.shutdownNow();
    }
    assertThat(EventPartitions.partitions(dsl))
        .extracting(EventPartitions.Partition::name)
        .containsExactly(
            "user_events_default",
            "user_events_p20261031",
            "user_events_p20261101",
            "user_events_p20261102",
            "user_events_p20261103",
            "user_events_p20261104");
  }

  @Test
  void theRetentionIsNeverShorterThanTheWidestWindowAndDefaultsToItPlusAMargin() {
    Duration window = Duration.ofDays(30);
    assertThat(EventRetention.of(Duration.ofDays(2)).effective(window)).isEqualTo(window);
    assertThat(EventRetention.of(Duration.ofDays(2)).raisedBy(window)).isTrue();
    assertThat(EventRetention.of(Duration.ofDays(40)).effective(window))
        .isEqualTo(Duration.ofDays(40));
    assertThat(EventRetention.defaults().effective(window)).isEqualTo(Duration.ofDays(37));
    assertThat(EventRetention.defaults().effective(Duration.ZERO))
        .isEqualTo(EventRetention.DEFAULT_MARGIN);
    assertThat(EventRetention.fromEnv(Map.of(EventRetention.ENV, "P2D")).configured())
        .contains(Duration.ofDays(2));
    assertThat(EventRetention.fromEnv(Map.of(EventRetention.ENV, "172800")).configured())
        .contains(Duration.ofDays(2));
    assertThat(EventRetention.fromEnv(Map.of()).configured()).isEmpty();
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> EventRetention.fromEnv(Map.of(EventRetention.ENV, "two days")))
        .hasMessageContaining(EventRetention.ENV);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> EventRetention.fromEnv(Map.of(EventRetention.ENV, "PT0S")))
        .hasMessageContaining("positive");
    EventPartitions forBuckets =
        EventPartitions.forBuckets(dsl, clock, EventRetention.of(Duration.ofHours(1)), BUCKETS);
    assertThat(forBuckets.retention())
        .as("raised to the 1-day window")
        .isEqualTo(Duration.ofDays(1));
  }

  /**
   * Existing rows stay where they are: the old table becomes one partition, with rollups and keys.
   */
  @Test
  void existingEventsMigrateIntoALegacyPartitionWithTheirRollupsAndKeys() {
    try (TestDatabase old = TestDatabase.unmigrated()) {
      Flyway.configure()
          .dataSource(old.dataSource())
          .locations("classpath:db/migration")
          .target("6")
          .load()
          .migrate();
      DSLContext odb = old.dsl();
      Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
      Instant past = now.minus(Duration.ofDays(400));
      Instant ahead = now.plus(Duration.ofDays(2)); // written before the future-skew limit existed
      odb.execute(
          "insert into user_events (user_id, event, occurred_at, idempotency_key) values "
              + "('ann', 'purchase', cast(? as timestamptz), 'o-1'), ('ann', 'purchase', cast(? as timestamptz), null), "
              + "('bob', 'login', cast(? as timestamptz), 'o-1')",
          past.toString(),
          now.toString(),
          ahead.toString());
      Long maxId = odb.fetchOne("select max(id) from user_events").get(0, Long.class);

      dev.bucketflow.db.Database.migrate(old.dataSource());

      assertThat(EventPartitions.partitions(odb))
          .extracting(EventPartitions.Partition::name)
          .containsExactly("user_events_default", "user_events_legacy");
      assertThat(
              odb.fetch(
                      "select tableoid::regclass::text || ' ' || user_id from user_events order by id")
                  .getValues(0, String.class))
          .containsExactly(
              "user_events_legacy ann", "user_events_legacy ann", "user_events_default bob");
      assertThat(
              odb.fetch("select user_id, event, total_count from user_event_rollups order by 1, 2")
                  .map(r -> r.intoList().toString()))
          .containsExactly("[ann, purchase, 2]", "[bob, login, 1]");
      assertThat(
              odb.fetchOne("select first_at from user_event_rollups where user_id = 'ann'")
                  .get(0, Instant.class))
          .isEqualTo(past);
      assertThat(
              EventLog.append(
                  odb,
                  List.of(
                      new EventLog.Entry("ann", "purchase", "{}", now, now, "o-1"),
                      new EventLog.Entry("bob", "login", "{}", now, now, "o-2"))))
          .containsExactly(false, true);
      assertThat(odb.fetchOne("select max(id) from user_events").get(0, Long.class))
          .isGreaterThan(maxId);
      // Once everything in it is past the retention, the legacy partition goes whole.
      MutableClock much = new MutableClock(now.plus(Duration.ofDays(30)));
      assertThat(new EventPartitions(odb, much, Duration.ofDays(7), 3).maintain().dropped())
          .containsExactly("user_events_legacy");
    }
  }
}
