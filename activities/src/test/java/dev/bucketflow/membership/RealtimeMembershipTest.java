package dev.bucketflow.membership;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static dev.bucketflow.testing.Events.at;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.ingest.IngestBatch;
import dev.bucketflow.ingest.IngestOutcome;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RealtimeMembershipTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");

  static final BucketDefinition TRIAL =
      BucketDefinition.builder("trial")
          .criteria(all(prop("plan").eq("trial"), prop("converted").neq(true)))
          .build();
  static final BucketDefinition TRIAL_ONCE =
      BucketDefinition.builder("trial-once")
          .criteria(prop("plan").eq("trial"))
          .entryLimit(EntryLimit.ONCE)
          .build();
  static final BucketDefinition TRIAL_WEEKLY =
      BucketDefinition.builder("trial-weekly")
          .criteria(prop("plan").eq("trial"))
          .entryLimit(EntryLimit.ONCE_PER_PERIOD)
          .entryPeriod(days(7))
          .build();
  static final BucketDefinition POWER =
      BucketDefinition.builder("power")
          .criteria(event("key_action").within(days(30)).atLeast(3))
          .build();
  static final BucketDefinition DWELL =
      BucketDefinition.builder("dwell")
          .criteria(prop("vip").eq(true))
          .minDwell(Duration.ofHours(1))
          .maxDwell(days(2))
          .build();

  MutableClock clock;
  MembershipEngine engine;
  IngestService ingest;

  @BeforeEach
  void reset() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, rejected_events, ingest_batches, bucket_memberships, bucket_transitions, bucket_configs");
    clock = new MutableClock(T0);
    engine = Engines.engine(dsl, List.of(TRIAL, TRIAL_ONCE, TRIAL_WEEKLY, POWER, DWELL));
    ingest = new IngestService(dsl, engine, clock);
  }

  IngestOutcome apply(com.fasterxml.jackson.databind.node.ObjectNode... events) {
    return ingest.apply(batch(clock.instant(), events));
  }

  List<org.jooq.Record4<String, TransitionKind, Integer, Boolean>> transitions(String bucket) {
    var t = BUCKET_TRANSITIONS;
    return dsl.select(t.USER_ID, t.KIND, t.EPOCH, t.EMITTED)
        .from(t)
        .where(t.BUCKET_ID.eq(bucket))
        .orderBy(t.ID)
        .fetch();
  }

  /**
   * The latency metrics' input: every stored event's receipt, and each event that made at least one
   * recorded transition exactly once (a join of three buckets by one event is one), in order.
   */
  @Test
  void appliedReportsTheReceiptsOfStoredAndOfTransitioningEvents() {
    java.util.List<dev.bucketflow.ingest.PendingEvent> items =
        List.of(
            // joins trial, trial-once, trial-weekly: one transitioning event
            new dev.bucketflow.ingest.PendingEvent(
                event("u1", "signup", "{\"plan\":\"trial\"}"), 1_000),
            // stable: no transition
            new dev.bucketflow.ingest.PendingEvent(
                event("u1", "page.view", "{\"plan\":\"trial\"}"), 2_000),
            // no candidate bucket at all
            new dev.bucketflow.ingest.PendingEvent(event("u2", "logout"), 3_000),
            // a duplicate of nothing yet, then its repeat: stored once
            new dev.bucketflow.ingest.PendingEvent(
                event("u3", "other").put("idempotencyKey", "k"), 4_000),
            new dev.bucketflow.ingest.PendingEvent(
                event("u3", "other").put("idempotencyKey", "k"), 4_500),
            // leaves the three trial buckets: one transitioning event
            new dev.bucketflow.ingest.PendingEvent(
                event("u1", "upgrade", "{\"plan\":\"pro\"}"), 5_000));
    IngestService.Applied applied =
        ingest.applyWithTransitions(new IngestBatch("receipts-1", 0, items));

    assertThat(applied.transitions()).hasSize(6);
    assertThat(applied.transitionReceipts())
        .containsExactly(Instant.ofEpochMilli(1_000), Instant.ofEpochMilli(5_000));
    assertThat(applied.appliedReceipts())
        .containsExactly(
            Instant.ofEpochMilli(1_000),
            Instant.ofEpochMilli(2_000),
            Instant.ofEpochMilli(3_000),
            Instant.ofEpochMilli(4_000),
            Instant.ofEpochMilli(5_000));
    // A replayed batch reports nothing (its committing attempt did).
    IngestService.Applied replay =
        ingest.applyWithTransitions(new IngestBatch("receipts-1", 0, items));
    assertThat(replay.appliedReceipts()).isEmpty();
    assertThat(replay.transitionReceipts()).isEmpty();
  }

  @Test
  void joinStableLeaveEmitsOneEnteredAndOneLeft() {
    apply(event("u1", "signup", "{\"plan\":\"trial\"}"));
    apply(event("u1", "page.view", "{\"plan\":\"trial\",\"seats\":2}"));
    apply(event("u1", "page.view", "{\"plan\":\"trial\"}"));
    apply(event("u1", "upgrade", "{\"plan\":\"pro\"}"));

    assertThat(transitions("trial"))
        .extracting(r -> tuple(r.value1(), r.value2().db(), r.value3(), r.value4()))
        .containsExactly(tuple("u1", "entered", 1, true), tuple("u1", "left", 1, true));
    assertThat(
            dsl.select(USER_EVENTS.EVENT, USER_EVENTS.IDEMPOTENCY_KEY)
                .from(USER_EVENTS)
                .where(USER_EVENTS.EVENT.like("bucket:%:trial"))
                .orderBy(USER_EVENTS.ID)
                .fetch()
                .map(r -> r.value1() + " " + r.value2()))
        .containsExactly(
            "bucket:entered:trial bucket:trial:u1:entered:1",
            "bucket:left:trial bucket:trial:u1:left:1");
  }

  @Test
  void threeCyclesKeepHistoryRowsAndOneActiveRowWithAdvancingEpochs() {
    for (int i = 0; i < 3; i++) {
      apply(event("u1", "plan", "{\"plan\":\"trial\"}"));
      apply(event("u1", "plan", "{\"plan\":\"pro\"}"));
    }
    apply(event("u1", "plan", "{\"plan\":\"trial\"}"));

    var m = BUCKET_MEMBERSHIPS;
    assertThat(
            dsl.select(m.STATUS, m.ENTRY_COUNT)
                .from(m)
                .where(m.BUCKET_ID.eq("trial"))
                .orderBy(m.ENTRY_COUNT)
                .fetch()
                .map(r -> r.value1().db() + r.value2()))
        .containsExactly("left1", "left2", "left3", "active4");
    assertThat(transitions("trial")).hasSize(7);
  }

  @Test
  void anEventOmittingAReadPropertyUsesTheMergedContactState() {
    apply(event("u1", "signup", "{\"plan\":\"trial\",\"converted\":false}"));
    // Names "converted" only; "plan" must come from the contact, not the (absent) payload key.
    apply(event("u1", "survey", "{\"converted\":false}"));
    apply(event("u1", "page.view", "{\"plan\":\"trial\"}"));

    assertThat(transitions("trial")).extracting(r -> r.value2().db()).containsExactly("entered");
  }

  @Test
  void onceSuppressesTheSecondJoinEventButWritesTheRowAndAdvancesTheEpoch() {
    apply(event("u1", "p", "{\"plan\":\"trial\"}"));
    apply(event("u1", "p", "{\"plan\":\"pro\"}"));
    apply(event("u1", "p", "{\"plan\":\"trial\"}"));

    assertThat(transitions("trial-once"))
        .extracting(r -> tuple(r.value2().db(), r.value3(), r.value4()))
        .containsExactly(
            tuple("entered", 1, true), tuple("left", 1, true), tuple("entered", 2, false));
    assertThat(dsl.fetchCount(USER_EVENTS, USER_EVENTS.EVENT.eq("bucket:entered:trial-once")))
        .isEqualTo(1);
    assertThat(
            dsl.fetchCount(
                BUCKET_MEMBERSHIPS,
                BUCKET_MEMBERSHIPS
                    .BUCKET_ID
                    .eq("trial-once")
                    .and(BUCKET_MEMBERSHIPS.STATUS.eq(MembershipStatus.ACTIVE))
                    .and(BUCKET_MEMBERSHIPS.ENTRY_COUNT.eq(2))))
        .isEqualTo(1);
  }

  @Test
  void oncePerPeriodSuppressesInsideThePeriodAndEmitsAfterIt() {
    apply(event("u1", "p", "{\"plan\":\"trial\"}"));
    clock.advance(Duration.ofHours(1));
    apply(event("u1", "p", "{\"plan\":\"pro\"}")); // left at T0+1h
    clock.advance(days(3));
    apply(event("u1", "p", "{\"plan\":\"trial\"}")); // 3 days after leaving: suppressed
    clock.advance(Duration.ofHours(1));
    apply(event("u1", "p", "{\"plan\":\"pro\"}")); // left at T0+3d+2h
    clock.advance(days(7));
    apply(event("u1", "p", "{\"plan\":\"trial\"}")); // 7 days after the last leave: emits

    assertThat(transitions("trial-weekly"))
        .extracting(r -> tuple(r.value2().db(), r.value3(), r.value4()))
        .containsExactly(
            tuple("entered", 1, true),
            tuple("left", 1, true),
            tuple("entered", 2, false),
            tuple("left", 2, true),
            tuple("entered", 3, true));
  }

  @Test
  void candidateNarrowingEvaluatesNoBucketForAnUnreferencedEvent() {
    long before = engine.evaluations();
    apply(event("u1", "unrelated.thing", "{\"color\":\"blue\"}"));
    assertThat(engine.evaluations()).isEqualTo(before);

    apply(event("u1", "key_action"));
    assertThat(engine.evaluations()).isEqualTo(before + 1); // only "power" references key_action
  }

  @Test
  void reservedBucketEventIsRejectedAndNeverEvaluated() {
    long before = engine.evaluations();
    IngestOutcome outcome = apply(event("u1", "bucket:entered:trial", "{\"plan\":\"trial\"}"));

    assertThat(outcome.rejected()).isEqualTo(1);
    assertThat(engine.evaluations()).isEqualTo(before);
    assertThat(dsl.fetchCount(REJECTED_EVENTS, REJECTED_EVENTS.REASON.eq("reserved_event")))
        .isEqualTo(1);
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS)).isZero();
  }

  @Test
  void countsIncludeTheEventsOfTheSameBatchAndDeadlineIsTheThirdNewestAgingOut() {
    Instant a = T0.minus(days(10));
    Instant b = T0.minus(days(5));
    apply(at(event("u1", "key_action"), a), at(event("u1", "key_action"), b));
    assertThat(transitions("power")).isEmpty();
    apply(at(event("u1", "key_action"), T0.minus(days(1))));

    assertThat(transitions("power")).extracting(r -> r.value2().db()).containsExactly("entered");
    var m = BUCKET_MEMBERSHIPS;
    assertThat(
            dsl.select(m.EXPIRES_AT).from(m).where(m.BUCKET_ID.eq("power")).fetchOne(m.EXPIRES_AT))
        .isEqualTo(a.plus(days(30)));
    // A fresh event extends membership: the deadline moves to when the new 3rd-newest ages out.
    apply(event("u1", "key_action"));
    assertThat(
            dsl.select(m.EXPIRES_AT).from(m).where(m.BUCKET_ID.eq("power")).fetchOne(m.EXPIRES_AT))
        .isEqualTo(b.plus(days(30)));
  }

  @Test
  void minDwellDefersAnEarlyLeaveAndMaxDwellIsStamped() {
    apply(event("u1", "p", "{\"vip\":true}"));
    clock.advance(Duration.ofMinutes(10));
    apply(event("u1", "p", "{\"vip\":false}"));

    var m = BUCKET_MEMBERSHIPS;
    var row =
        dsl.select(m.STATUS, m.EXPIRES_AT, m.MAX_DWELL_AT)
            .from(m)
            .where(m.BUCKET_ID.eq("dwell"))
            .fetchOne();
    assertThat(row.value1()).isEqualTo(MembershipStatus.ACTIVE);
    assertThat(row.value2()).isEqualTo(T0.plus(Duration.ofHours(1)));
    assertThat(row.value3()).isEqualTo(T0.plus(days(2)));
    assertThat(transitions("dwell")).extracting(r -> r.value2().db()).containsExactly("entered");

    clock.advance(Duration.ofHours(1));
    apply(event("u1", "p", "{\"vip\":false}"));
    assertThat(transitions("dwell"))
        .extracting(r -> r.value2().db())
        .containsExactly("entered", "left");
  }

  @Test
  void disabledBucketIsSkippedByTheHotSwitch() {
    dsl.execute("UPDATE bucket_configs SET enabled = false WHERE bucket_id = 'trial'");
    apply(event("u1", "p", "{\"plan\":\"trial\"}"));
    assertThat(transitions("trial")).isEmpty();
    assertThat(transitions("trial-once")).hasSize(1);
  }

  @Test
  void aRetriedBatchRecordsNoTransitionTwice() {
    IngestBatch b =
        batch(
            clock.instant(),
            event("u1", "p", "{\"plan\":\"trial\"}"),
            event("u1", "p", "{\"plan\":\"pro\"}"));
    ingest.apply(b);
    IngestOutcome retry = ingest.apply(b);

    assertThat(retry.duplicateBatch()).isTrue();
    assertThat(transitions("trial"))
        .extracting(r -> r.value2().db())
        .containsExactly("entered", "left");
  }
}
