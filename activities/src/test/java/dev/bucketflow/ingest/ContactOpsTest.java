package dev.bucketflow.ingest;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.JOURNEY_OUTBOX;
import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketKind;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.db.Json;
import dev.bucketflow.journey.JourneyDefinition;
import dev.bucketflow.journey.JourneyRegistry;
import dev.bucketflow.journeys.JourneyOutbox;
import dev.bucketflow.journeys.JourneyRouter;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import dev.bucketflow.reconcile.ReconcileService;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** deleteContact, addToBucket and removeFromBucket travelling in the ingest stream. */
class ContactOpsTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final BucketDefinition TRIAL =
      BucketDefinition.builder("trial").criteria(prop("plan").eq("trial")).build();
  static final BucketDefinition DORMANT =
      BucketDefinition.builder("dormant")
          .criteria(
              all(event("app.active").exists(), event("app.active").within(days(7)).notExists()))
          .build();
  static final BucketDefinition VIP =
      BucketDefinition.builder("vip").kind(BucketKind.MANUAL).build();

  MutableClock clock;
  IngestService ingest;
  ReconcileService reconcile;
  int seq;

  @BeforeEach
  void reset() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, rejected_events, ingest_batches, bucket_memberships, "
            + "bucket_transitions, bucket_configs, journey_outbox");
    clock = new MutableClock(T0);
    BucketCatalog catalog = Engines.catalog(dsl, List.of(TRIAL, DORMANT, VIP));
    JourneyRegistry journeys =
        new JourneyRegistry(
            List.of(
                JourneyDefinition.builder("welcome")
                    .triggerEvent("bucket:entered:trial")
                    .workflowType("WinbackJourney")
                    .build()));
    JourneyOutbox outbox =
        new JourneyOutbox(new JourneyRouter(dsl, journeys, null, "bucketflow", clock));
    EventHistoryLoader history = new EventHistoryLoader();
    ingest =
        new IngestService(
            dsl,
            new MembershipEngine(
                catalog, new MembershipStore(), history, TransitionWriter.withoutGenericEvents()),
            outbox,
            clock);
    reconcile =
        new ReconcileService(
            dsl,
            catalog,
            new UserStates(history),
            TransitionWriter.withoutGenericEvents(),
            clock,
            100,
            null);
  }

  static PendingEvent op(String op, String json) {
    try {
      return new PendingEvent(Json.MAPPER.readTree(json), T0.toEpochMilli(), op);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  static PendingEvent ev(ObjectNode e) {
    return new PendingEvent(e, T0.toEpochMilli());
  }

  IngestOutcome apply(PendingEvent... items) {
    return ingest.apply(new IngestBatch("ops-" + (seq++), 0, new ArrayList<>(List.of(items))));
  }

  List<String> transitions() {
    var t = BUCKET_TRANSITIONS;
    return dsl.select(t.BUCKET_ID, t.USER_ID, t.KIND, t.EPOCH, t.SOURCE)
        .from(t)
        .orderBy(t.ID)
        .fetch()
        .map(
            r ->
                r.value1()
                    + ":"
                    + r.value2()
                    + ":"
                    + r.value3()
                    + ":"
                    + r.value4()
                    + ":"
                    + r.value5());
  }

  @Test
  void deletingAContactSoftDeletesItsMembershipsSilentlyAndRefusesItsLaterEvents() {
    apply(ev(event("u1", "p", "{\"plan\":\"trial\"}")), ev(event("u1", "app.active")));
    IngestOutcome deleted =
        apply(
            op(PendingEvent.DELETE_CONTACT, "{\"userId\":\"u1\"}"),
            ev(event("u1", "p", "{\"plan\":\"pro\"}")));

    assertThat(transitions()).containsExactly("trial:u1:entered:1:event");
    var m = BUCKET_MEMBERSHIPS;
    assertThat(
            dsl.fetchCount(
                m,
                m.USER_ID
                    .eq("u1")
                    .and(m.STATUS.eq(MembershipStatus.ACTIVE))
                    .and(m.DELETED_AT.isNull())))
        .isZero();
    assertThat(
            dsl.fetchCount(
                CONTACTS, CONTACTS.EXTERNAL_ID.eq("u1").and(CONTACTS.DELETED_AT.isNotNull())))
        .isEqualTo(1);
    assertThat(deleted.rejected()).isEqualTo(1);
    assertThat(dsl.fetchCount(REJECTED_EVENTS, REJECTED_EVENTS.REASON.eq("deleted"))).isEqualTo(1);
    // Its running journeys are told to exit after commit.
    assertThat(
            dsl.fetchCount(JOURNEY_OUTBOX, JOURNEY_OUTBOX.EVENT.eq(JourneyRouter.CONTACT_DELETED)))
        .isEqualTo(1);

    // Not joined by a later sweep although it looks dormant.
    clock.advance(days(8));
    assertThat(reconcile.sweep("dormant", p -> {}).absenceJoins()).isZero();
    assertThat(transitions()).containsExactly("trial:u1:entered:1:event");
  }

  @Test
  void manualAddAndRemoveEmitOnceEachAndNoSweepOrEventTouchesThem() {
    apply(
        op(PendingEvent.ADD_TO_BUCKET, "{\"bucketId\":\"vip\",\"userId\":\"u2\"}"),
        op(PendingEvent.ADD_TO_BUCKET, "{\"bucketId\":\"vip\",\"userId\":\"u2\"}"));
    apply(ev(event("u2", "p", "{\"plan\":\"trial\"}")));
    clock.advance(days(30));
    assertThat(reconcile.bucketsToSweep(null)).doesNotContain("vip");
    assertThat(transitions())
        .containsExactly("vip:u2:entered:1:manual", "trial:u2:entered:1:event");

    apply(
        op(PendingEvent.REMOVE_FROM_BUCKET, "{\"bucketId\":\"vip\",\"userId\":\"u2\"}"),
        op(PendingEvent.REMOVE_FROM_BUCKET, "{\"bucketId\":\"vip\",\"userId\":\"u2\"}"));
    assertThat(transitions())
        .containsExactly(
            "vip:u2:entered:1:manual", "trial:u2:entered:1:event", "vip:u2:left:1:manual");
    var t = BUCKET_TRANSITIONS;
    assertThat(
            dsl.select(t.REASON).from(t).where(t.BUCKET_ID.eq("vip")).orderBy(t.ID).fetch(t.REASON))
        .as("a join has no reason; a manual removal says manual")
        .containsExactly(null, LeaveReason.MANUAL);
    assertThat(
            dsl.fetchValue(
                "SELECT properties->>'reason' FROM user_events WHERE event = 'bucket:left:vip'"))
        .isEqualTo("manual");
  }

  @Test
  void malformedOperationsAreRejectedWithoutFailingTheBatch() {
    IngestOutcome outcome =
        apply(
            op(PendingEvent.ADD_TO_BUCKET, "{\"bucketId\":\"trial\",\"userId\":\"u3\"}"),
            op(PendingEvent.ADD_TO_BUCKET, "{\"bucketId\":\"nope\",\"userId\":\"u3\"}"),
            op(PendingEvent.DELETE_CONTACT, "{}"),
            ev(event("u3", "p", "{\"plan\":\"trial\"}")));

    assertThat(outcome.rejected()).isEqualTo(3);
    assertThat(
            dsl.select(REJECTED_EVENTS.DETAIL)
                .from(REJECTED_EVENTS)
                .orderBy(REJECTED_EVENTS.ID)
                .fetch(REJECTED_EVENTS.DETAIL))
        .containsExactly(
            "bucketId: 'trial' is not a manual bucket",
            "bucketId: no bucket 'nope'",
            "userId: required non-empty string");
    assertThat(transitions()).containsExactly("trial:u3:entered:1:event");
  }
}
