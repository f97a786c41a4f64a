package dev.bucketflow.reconcile;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.schema.Tables.BUCKET_BACKFILL_JOBS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.testing.Events.at;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.ingest.ContactStore;
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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jooq.DSLContext;
import org.jooq.ExecuteListener;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Clock-driven changes with no inbound event, on real PostgreSQL with an injected clock. */
class ReconcileServiceTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final int CHUNK = 5;

  /** Clock-leave chunks at once: one here, three in {@link ReconcileServiceThreeChunksTest}. */
  int parallelism() {
    return 1;
  }

  static final BucketDefinition RECENT =
      BucketDefinition.builder("recent")
          .criteria(event("app.active").within(days(7)).exists())
          .build();
  static final BucketDefinition POWER =
      BucketDefinition.builder("power")
          .criteria(event("key_action").within(days(30)).atLeast(3))
          .build();
  static final BucketDefinition TRIAL_ACTIVE =
      BucketDefinition.builder("trial-active")
          .criteria(all(prop("plan").eq("trial"), event("app.active").within(days(3)).exists()))
          .build();
  static final BucketDefinition DORMANT =
      BucketDefinition.builder("went-dormant")
          .criteria(
              all(event("app.active").exists(), event("app.active").within(days(7)).notExists()))
          .entryLimit(EntryLimit.ONCE)
          .build();
  static final BucketDefinition CAPPED =
      BucketDefinition.builder("capped").criteria(prop("vip").eq(true)).maxDwell(days(2)).build();
  static final BucketDefinition STICKY =
      BucketDefinition.builder("sticky")
          .criteria(event("ping").within(Duration.ofHours(1)).exists())
          .minDwell(Duration.ofHours(6))
          .build();

  /** Joins by the clock alone: nobody matches while the trial end is more than 3 days ahead. */
  static final BucketDefinition TRIAL_ENDING =
      BucketDefinition.builder("trial-ending")
          .criteria(prop("trial_ends_at").withinNext(days(3)))
          .build();

  MutableClock clock;
  IngestService ingest;
  ReconcileService reconcile;

  @BeforeEach
  void reset() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, rejected_events, ingest_batches, bucket_memberships, "
            + "bucket_transitions, bucket_configs, bucket_backfill_jobs");
    clock = new MutableClock(T0);
    List<BucketDefinition> buckets =
        List.of(RECENT, POWER, TRIAL_ACTIVE, DORMANT, CAPPED, STICKY, TRIAL_ENDING);
    BucketCatalog catalog = Engines.catalog(dsl, buckets);
    EventHistoryLoader history = new EventHistoryLoader();
    ingest =
        new IngestService(
            dsl,
            new MembershipEngine(
                catalog, new MembershipStore(), history, TransitionWriter.withoutGenericEvents()),
            clock);
    reconcile =
        new ReconcileService(
            dsl,
            catalog,
            new UserStates(history),
            TransitionWriter.withoutGenericEvents(),
            clock,
            CHUNK,
            null,
            parallelism());
  }

  void send(ObjectNode... events) {
    ingest.apply(batch(clock.instant(), events));
  }

  BucketSweep sweep(String bucket) {
    return reconcile.sweep(bucket, progress -> {});
  }

  List<String> transitions(String bucket) {
    var t = BUCKET_TRANSITIONS;
    return dsl.select(t.USER_ID, t.KIND, t.EPOCH, t.SOURCE)
        .from(t)
        .where(t.BUCKET_ID.eq(bucket))
        .orderBy(t.ID)
        .fetch()
        .map(r -> r.value1() + ":" + r.value2() + ":" + r.value3() + ":" + r.value4());
  }

  @Test
  void existsWithinMemberLeavesOnceItsEventAgesOut() {
    send(event("u1", "app.active"));
    clock.advance(days(7).minusSeconds(1));
    assertThat(sweep("recent").clockLeaves()).isZero();
    clock.advance(Duration.ofSeconds(1));
    assertThat(sweep("recent").clockLeaves()).isEqualTo(1);
    assertThat(transitions("recent")).containsExactly("u1:entered:1:event", "u1:left:1:reconcile");
  }

  /**
   * A contact deleted after the sweep read its chunk but before the chunk locks it: the leave
   * re-checks {@code deleted_at} under the lock, so the deleted member is not left and no
   * transition is written (DESIGN §7: a deleted contact is excluded from all evaluation). The
   * deletion is staged deterministically, committed on another connection just before the chunk's
   * lock statement runs.
   */
  @Test
  void aContactDeletedBetweenTheChunkReadAndItsLockIsNotLeft() {
    send(event("u1", "app.active"), event("u2", "app.active"));
    clock.advance(days(8)); // both are due to leave "recent"
    AtomicBoolean deleted = new AtomicBoolean();

    assertThat(
            deletingOnFirstLock(RECENT, "u1", deleted)
                .sweep("recent", progress -> {})
                .clockLeaves())
        .isEqualTo(1);
    assertThat(deleted).isTrue();
    assertThat(transitions("recent"))
        .containsExactly("u1:entered:1:event", "u2:entered:1:event", "u2:left:1:reconcile");
  }

  /**
   * As above, for the maxDwell phase: its leave re-checks {@code deleted_at} under the lock too.
   */
  @Test
  void aContactDeletedBetweenTheMaxDwellChunkReadAndItsLockIsNotLeft() {
    send(event("u1", "p", "{\"vip\":true}"), event("u2", "p", "{\"vip\":true}"));
    clock.advance(days(2)); // both reach maxDwell while still matching
    AtomicBoolean deleted = new AtomicBoolean();

    BucketSweep sweep = deletingOnFirstLock(CAPPED, "u1", deleted).sweep("capped", progress -> {});
    assertThat(deleted).isTrue();
    assertThat(sweep.maxDwellLeaves()).isEqualTo(1);
    assertThat(transitions("capped"))
        .containsExactly("u1:entered:1:event", "u2:entered:1:event", "u2:left:1:reconcile");
    assertThat(
            dsl.select(BUCKET_MEMBERSHIPS.STATUS)
                .from(BUCKET_MEMBERSHIPS)
                .where(BUCKET_MEMBERSHIPS.USER_ID.eq("u1"))
                .fetchOne(BUCKET_MEMBERSHIPS.STATUS))
        .as("the deleted contact's row is not moved to left")
        .isEqualTo(MembershipStatus.ACTIVE);
  }

  /**
   * A sweeper over {@code bucket} whose first contact-lock statement ({@code SKIP LOCKED}) is
   * preceded by the deletion of {@code user}, committed on another connection: the race between a
   * chunk's read and its lock, staged deterministically.
   */
  private ReconcileService deletingOnFirstLock(
      BucketDefinition bucket, String user, AtomicBoolean deleted) {
    DSLContext staged =
        dsl.configuration()
            .deriveAppending(
                ExecuteListener.onExecuteStart(
                    ctx -> {
                      if (ctx.sql() != null
                          && ctx.sql().contains("skip locked")
                          && deleted.compareAndSet(false, true)) {
                        dsl.transaction(
                            cfg -> new ContactStore().delete(cfg.dsl(), user, clock.instant()));
                      }
                    }))
            .dsl();
    return new ReconcileService(
        staged,
        Engines.catalog(dsl, List.of(bucket)),
        new UserStates(new EventHistoryLoader()),
        TransitionWriter.withoutGenericEvents(),
        clock,
        CHUNK,
        null,
        parallelism());
  }

  @Test
  void countMemberLeavesWhenTheCountDecaysBelowNThoughEventsRemain() {
    send(
        at(event("u1", "key_action"), T0.minus(days(20))),
        at(event("u1", "key_action"), T0.minus(days(10))),
        event("u1", "key_action"));
    clock.advance(days(9));
    assertThat(sweep("power").clockLeaves()).isZero();
    clock.advance(days(1)); // the 20-day-old event is now 30 days old: 2 remain, below 3
    assertThat(sweep("power").clockLeaves()).isEqualTo(1);
    assertThat(transitions("power")).containsExactly("u1:entered:1:event", "u1:left:1:reconcile");
  }

  @Test
  void compositeMemberLeavesWhenOneAndLegExpires() {
    send(event("u1", "app.active", "{\"plan\":\"trial\"}"));
    clock.advance(days(3));
    sweep("trial-active");
    assertThat(transitions("trial-active"))
        .containsExactly("u1:entered:1:event", "u1:left:1:reconcile");
  }

  @Test
  void lapsedActiveJoinsOnlyTheLapsedUserEvenBehindAFullChunkOfActiveOnes() {
    // 12 still-active users sort before the lapsed one: more than two chunks of candidates.
    List<ObjectNode> events = new ArrayList<>();
    for (int i = 0; i < 12; i++) events.add(event("a-active-" + (10 + i), "app.active"));
    events.add(event("z-lapsed", "app.active"));
    events.add(event("m-never", "signup"));
    send(events.toArray(ObjectNode[]::new));
    clock.advance(days(7));
    List<ObjectNode> again = new ArrayList<>();
    for (int i = 0; i < 12; i++) again.add(event("a-active-" + (10 + i), "app.active"));
    send(again.toArray(ObjectNode[]::new));
    clock.advance(Duration.ofHours(1));

    BucketSweep first = sweep("went-dormant");

    assertThat(first.absenceJoins()).isEqualTo(1);
    assertThat(transitions("went-dormant")).containsExactly("z-lapsed:entered:1:reconcile");
    assertThat(sweep("went-dormant").absenceJoins()).isZero(); // stable: nothing twice

    // The active ones lapse a week later; the lapsed one returning leaves in real time.
    clock.advance(days(7));
    send(event("z-lapsed", "app.active"));
    assertThat(sweep("went-dormant").absenceJoins()).isEqualTo(12);
    assertThat(transitions("went-dormant")).contains("z-lapsed:left:1:event");
  }

  @Test
  void reconcileJoinsUseTheEntryLimitGate() {
    send(at(event("u1", "app.active"), T0.minus(days(8))));
    sweep("went-dormant");
    send(event("u1", "app.active"));
    clock.advance(days(8));
    sweep("went-dormant");

    var t = BUCKET_TRANSITIONS;
    assertThat(
            dsl.select(t.KIND, t.EPOCH, t.EMITTED)
                .from(t)
                .where(t.BUCKET_ID.eq("went-dormant"))
                .orderBy(t.ID)
                .fetch()
                .map(r -> r.value1().db() + r.value2() + r.value3()))
        .containsExactly("entered1true", "left1true", "entered2false");
  }

  @Test
  void joinsWaitForAnUnfinishedFirstTimeBackfill() {
    send(event("u1", "app.active"));
    clock.advance(days(8));
    var j = BUCKET_BACKFILL_JOBS;
    dsl.insertInto(j, j.BUCKET_ID, j.CRITERIA_HASH, j.KIND, j.STATUS)
        .values("went-dormant", "h", BackfillKind.FIRST_TIME, BackfillStatus.RUNNING)
        .execute();

    BucketSweep sweep = sweep("went-dormant");
    assertThat(sweep.joinsSkipped()).isTrue();
    assertThat(sweep.absenceJoins()).isZero();

    dsl.update(j).set(j.STATUS, BackfillStatus.COMPLETED).execute();
    assertThat(sweep("went-dormant").absenceJoins()).isEqualTo(1);
  }

  @Test
  void maxDwellForceLeavesAtMaxDwellAtWhateverTheCriteriaSay() {
    send(event("u1", "p", "{\"vip\":true}"));
    clock.advance(days(2).minusSeconds(1));
    assertThat(sweep("capped").maxDwellLeaves()).isZero();
    clock.advance(Duration.ofSeconds(1));
    BucketSweep sweep = sweep("capped");
    assertThat(sweep.maxDwellLeaves()).isEqualTo(1);
    assertThat(transitions("capped")).containsExactly("u1:entered:1:event", "u1:left:1:reconcile");
  }

  @Test
  void minDwellDefersTheClockLeaveUntilTheDwellEndsThenLeavesIfStillFalse() {
    send(event("u1", "ping"), event("u2", "ping"));
    clock.advance(Duration.ofHours(2)); // ping aged out, but only 2 of 6 hours dwelt
    BucketSweep early = sweep("sticky");
    assertThat(early.clockLeaves()).isZero();
    assertThat(early.deferred()).isEqualTo(2);
    var m = BUCKET_MEMBERSHIPS;
    assertThat(
            dsl.select(m.EXPIRES_AT)
                .from(m)
                .where(m.USER_ID.eq("u1").and(m.BUCKET_ID.eq("sticky")))
                .fetchOne(m.EXPIRES_AT))
        .isEqualTo(T0.plus(Duration.ofHours(6)));

    clock.advance(Duration.ofHours(4));
    send(event("u2", "ping")); // u2 qualifies again when its dwell ends
    BucketSweep late = sweep("sticky");
    assertThat(late.clockLeaves()).isEqualTo(1);
    assertThat(transitions("sticky"))
        .containsExactly("u1:entered:1:event", "u2:entered:1:event", "u1:left:1:reconcile");
  }

  @Test
  void aDateConditionJoinsAndLeavesByTheClockAloneAtTheSweepAfterEachInstant() {
    Instant trialEnds = T0.plus(days(5));
    send(event("u1", "signup", "{\"trial_ends_at\":\"" + trialEnds + "\"}"));
    send(event("u2", "signup", "{\"trial_ends_at\":" + trialEnds.toEpochMilli() + "}"));
    send(event("u3", "signup", "{\"trial_ends_at\":\"not a date\"}"));
    assertThat(TRIAL_ENDING.timeBased()).isTrue();
    sweep("trial-ending");
    assertThat(activeIn("trial-ending")).isEmpty();

    clock.set(trialEnds.minus(days(3)).minusMillis(1)); // one millisecond before it turns true
    sweep("trial-ending");
    assertThat(activeIn("trial-ending")).isEmpty();

    clock.set(trialEnds.minus(days(3))); // now + 3d = trial end: true, with no event
    sweep("trial-ending");
    assertThat(activeIn("trial-ending")).containsExactly("u1", "u2");

    clock.set(trialEnds); // the last instant it holds
    sweep("trial-ending");
    assertThat(activeIn("trial-ending")).containsExactly("u1", "u2");

    clock.set(trialEnds.plusMillis(1));
    sweep("trial-ending");
    assertThat(activeIn("trial-ending")).isEmpty();
    var t = BUCKET_TRANSITIONS;
    assertThat(
            dsl.select(t.USER_ID, t.KIND)
                .from(t)
                .where(t.BUCKET_ID.eq("trial-ending"))
                .orderBy(t.ID)
                .fetch()
                .map(r -> r.value1() + ":" + r.value2()))
        .containsExactly("u1:entered", "u2:entered", "u1:left", "u2:left");
  }

  List<String> activeIn(String bucket) {
    var m = BUCKET_MEMBERSHIPS;
    return dsl.select(m.USER_ID)
        .from(m)
        .where(
            m.BUCKET_ID
                .eq(bucket)
                .and(m.STATUS.eq(MembershipStatus.ACTIVE))
                .and(m.DELETED_AT.isNull()))
        .orderBy(m.USER_ID)
        .fetch(m.USER_ID);
  }

  @Test
  void everyLeaveRecordsItsReasonInTheOutboxAndTheLeftEvent() {
    send(event("u1", "vip", "{\"vip\":true}")); // capped: leaves by maxDwell while it still matches
    send(event("u2", "app.active")); // recent: leaves by the clock
    send(event("u3", "signup", "{\"plan\":\"trial\"}"), event("u3", "app.active"));
    send(event("u3", "upgrade", "{\"plan\":\"pro\"}")); // trial-active: leaves on an event
    clock.advance(days(8));
    sweep("capped");
    sweep("recent");

    var t = BUCKET_TRANSITIONS;
    assertThat(
            dsl.select(t.BUCKET_ID, t.USER_ID, t.REASON)
                .from(t)
                .where(t.KIND.eq(dev.bucketflow.bucket.TransitionKind.LEFT))
                .orderBy(t.ID)
                .fetch()
                .map(r -> r.value1() + ":" + r.value2() + ":" + r.value3()))
        .containsExactly(
            "trial-active:u3:criteria",
            "capped:u1:max_dwell",
            "recent:u2:criteria",
            "recent:u3:criteria");
    assertThat(
            dsl.fetch(
                    "SELECT event, properties->>'reason' AS reason FROM user_events WHERE event LIKE 'bucket:left:%' ORDER BY id")
                .map(r -> r.get(0) + "=" + r.get(1)))
        .containsExactly(
            "bucket:left:trial-active=criteria",
            "bucket:left:capped=max_dwell",
            "bucket:left:recent=criteria",
            "bucket:left:recent=criteria");
    assertThat(
            dsl.fetchCount(
                t,
                t.KIND.eq(dev.bucketflow.bucket.TransitionKind.ENTERED).and(t.REASON.isNotNull())))
        .isZero();
  }
}
