package dev.bucketflow.ingest;

import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.INGEST_BATCHES;
import static dev.bucketflow.schema.Tables.INGEST_SPILL;
import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import dev.bucketflow.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile input end to end through {@link IngestService} on a real PostgreSQL (DESIGN §4, §13):
 * door rejections are storable rows, idempotency keys are per user, a data error is isolated to its
 * item while a transient one fails the attempt, and spilled events round-trip unchanged.
 */
class HostileIngestTest extends DatabaseTest {

  static final JsonNodeFactory F = JsonNodeFactory.instance;
  static final Instant T0 = Instant.parse("2026-11-26T10:00:00Z");
  static final String EMOJI = "\uD83D\uDE00";
  static final BucketDefinition TRIAL =
      BucketDefinition.builder("trial").criteria(prop("plan").eq("trial")).build();
  static final String TABLES =
      "user_events, user_event_keys, user_event_rollups, contacts, rejected_events, ingest_batches, bucket_memberships, "
          + "bucket_transitions, bucket_configs, ingest_spill";

  MutableClock clock;
  IngestService service;
  int batchSeq;

  @BeforeEach
  void reset() {
    dsl.execute("TRUNCATE " + TABLES);
    clock = new MutableClock(T0);
    service = newService(dsl, clock);
  }

  @AfterEach
  void removePoison() {
    dsl.execute("ALTER TABLE user_events DROP CONSTRAINT IF EXISTS no_poison");
    dsl.execute("DROP TRIGGER IF EXISTS poison_trigger ON user_events");
    dsl.execute("DROP FUNCTION IF EXISTS poison_fn()");
  }

  static IngestService newService(DSLContext dsl, MutableClock clock) {
    return new IngestService(dsl, Engines.engine(dsl, List.of(TRIAL)), clock);
  }

  static ObjectNode ev(String user, String name) {
    ObjectNode e = F.objectNode();
    e.put("userId", user).put("event", name);
    return e;
  }

  static ObjectNode ev(String user, String name, String key, Object value) {
    ObjectNode e = ev(user, name);
    ObjectNode p = e.putObject("properties");
    if (value instanceof String s) p.put(key, s);
    else if (value instanceof Integer i) p.put(key, i);
    return e;
  }

  /** The items as the signal handler buffers them, or (admitted = false) as raw items. */
  IngestBatch batch(boolean admitted, List<ObjectNode> events) {
    List<PendingEvent> items = new ArrayList<>();
    for (ObjectNode e : events) {
      items.add(
          admitted
              ? PendingEvent.admit(e, T0.toEpochMilli(), null)
              : new PendingEvent(e, T0.toEpochMilli()));
    }
    return new IngestBatch("hostile/" + batchSeq++, 0, items);
  }

  IngestBatch batch(ObjectNode... events) {
    return batch(true, List.of(events));
  }

  static List<String> rejectedReasons(DSLContext dsl) {
    return dsl.select(REJECTED_EVENTS.REASON)
        .from(REJECTED_EVENTS)
        .orderBy(REJECTED_EVENTS.ID)
        .fetch(REJECTED_EVENTS.REASON);
  }

  static List<String> clientEvents(DSLContext dsl) {
    return dsl.select(USER_EVENTS.USER_ID, USER_EVENTS.EVENT)
        .from(USER_EVENTS)
        .where(USER_EVENTS.EVENT.notLike("bucket:%"))
        .orderBy(USER_EVENTS.ID)
        .fetch()
        .map(r -> r.value1() + " " + r.value2());
  }

  // ---------------------------------------------------------------------------------------------
  // (a) every hostile case in one batch with ordinary events of other users

  record Case(ObjectNode event, String reason) {}

  static List<Case> hostileCases() {
    List<Case> c = new ArrayList<>();
    c.add(new Case(ev("h\u00001", "a"), "invalid_text"));
    c.add(new Case(ev("h2", "a\u0000b"), "invalid_text"));
    c.add(new Case(ev("h3", "a").put("userEmail", "x\u0000@y.z"), "invalid_text"));
    c.add(new Case(ev("h4", "a", "k\u0000ey", 1), "invalid_text"));
    ObjectNode nested = ev("h5", "a");
    nested.putObject("properties").putObject("a").putObject("b").put("c", "v\u0000");
    c.add(new Case(nested, "invalid_text"));
    ObjectNode array = ev("h6", "a");
    array.putObject("properties").putArray("tags").add("ok").add("x\u0000");
    c.add(new Case(array, "invalid_text"));
    c.add(new Case(ev("h7", "a", "s", "hi\uD800gh"), "invalid_text"));
    c.add(new Case(ev("h8", "a", "s", "lo\uDC00w"), "invalid_text"));
    c.add(new Case(ev("x".repeat(257), "a"), "field_too_long"));
    c.add(new Case(ev("€".repeat(86), "a"), "field_too_long"));
    c.add(new Case(ev("h9", "e".repeat(201)), "field_too_long"));
    c.add(new Case(ev("h10", "a").put("userEmail", "m".repeat(315) + "@b.cde"), "field_too_long"));
    c.add(new Case(ev("h11", "a").put("idempotencyKey", "k".repeat(257)), "field_too_long"));
    ObjectNode longKey = ev("h12", "a");
    longKey.putObject("properties").putObject("a").putObject("b").put("q".repeat(201), 1);
    c.add(new Case(longKey, "field_too_long"));
    ObjectNode numericUser = ev("h13", "a");
    numericUser.put("userId", 42);
    c.add(new Case(numericUser, "invalid_field"));
    c.add(new Case(ev("", "a"), "missing_user_id"));
    c.add(new Case(ev("   ", "a"), "missing_user_id"));
    c.add(new Case(ev("h14", "a").put("occurredAt", "-5000-01-01T00:00:00Z"), "invalid_field"));
    c.add(new Case(ev("h15", "a").put("occurredAt", "1969-12-31T23:59:59Z"), "invalid_field"));
    c.add(new Case(ev("h16", "a").put("occurredAt", "+294276-12-30T00:00:00Z"), "invalid_field"));
    c.add(new Case(ev("h17", "a").put("occurredAt", "9999-01-01T00:00:00Z"), "invalid_field"));
    c.add(
        new Case(
            ev("h18", "a").put("occurredAt", T0.plus(Duration.ofMinutes(6)).toString()),
            "invalid_field"));
    ObjectNode deep33 = ev("h19", "a");
    ObjectNode cur = deep33.putObject("properties");
    for (int i = 2; i <= 33; i++) cur = cur.putObject("d");
    c.add(new Case(deep33, "too_deep"));
    // Very deep, and a userId PostgreSQL cannot store: the row still can be written.
    ObjectNode deep1200 = ev("evil\u0000", "a\uD800");
    cur = deep1200.putObject("properties");
    for (int i = 0; i < 1200; i++) cur = cur.putObject("d");
    c.add(new Case(deep1200, "too_deep"));
    c.add(new Case(ev("h20", "a", "blob", "b".repeat(40 * 1024)), "payload_too_large"));
    c.add(
        new Case(
            ev("h21", "a").put("idempotencyKey", "bucket:ping7:carol:entered:1"), "reserved_key"));
    c.add(new Case(ev("h22", "a").put("idempotencyKey", ""), "invalid_field"));
    return c;
  }

  static List<ObjectNode> ordinary() {
    List<ObjectNode> o = new ArrayList<>();
    o.add(ev("ok1", "signup", "plan", "trial"));
    o.add(ev("ok2", "smile" + EMOJI, "face", EMOJI));
    o.add(ev("€".repeat(85), "a"));
    o.add(
        ev("o".repeat(256), "e".repeat(200))
            .put("userEmail", "m".repeat(314) + "@b.cde")
            .put("idempotencyKey", "k".repeat(256)));
    o.add(ev("ok3", "late").put("occurredAt", T0.plus(Duration.ofMinutes(4)).toString()));
    o.add(ev("ok4", "epoch").put("occurredAt", "1970-01-01T00:00:00Z"));
    ObjectNode deep32 = ev("ok5", "deep");
    ObjectNode cur = deep32.putObject("properties");
    for (int i = 2; i <= 32; i++) cur = cur.putObject("d");
    o.add(deep32);
    return o;
  }

  @ParameterizedTest(name = "admitted at the signal handler: {0}")
  @ValueSource(booleans = {true, false})
  void everyHostileEventIsAStorableRejectionAndTheRestIsStored(boolean admitted) {
    List<Case> hostile = hostileCases();
    List<ObjectNode> ordinary = ordinary();
    List<ObjectNode> mixed = new ArrayList<>();
    List<String> expectedStored = new ArrayList<>();
    int o = 0;
    for (int i = 0; i < hostile.size(); i++) {
      mixed.add(hostile.get(i).event());
      if (i % 4 == 0 && o < ordinary.size()) {
        ObjectNode e = ordinary.get(o++);
        mixed.add(e);
        expectedStored.add(e.get("userId").asText() + " " + e.get("event").asText());
      }
    }
    while (o < ordinary.size()) {
      ObjectNode e = ordinary.get(o++);
      mixed.add(e);
      expectedStored.add(e.get("userId").asText() + " " + e.get("event").asText());
    }

    IngestOutcome outcome = service.apply(batch(admitted, mixed));

    assertThat(outcome.stored()).isEqualTo(ordinary.size());
    assertThat(outcome.rejected()).isEqualTo(hostile.size());
    assertThat(clientEvents(dsl)).containsExactlyElementsOf(expectedStored);
    assertThat(rejectedReasons(dsl))
        .containsExactlyElementsOf(hostile.stream().map(Case::reason).toList());
    // ok1 entered the bucket: hostile input did not stop transitions either.
    assertThat(
            dsl.select(BUCKET_TRANSITIONS.USER_ID, BUCKET_TRANSITIONS.KIND)
                .from(BUCKET_TRANSITIONS)
                .fetch()
                .map(r -> r.value1() + " " + r.value2()))
        .containsExactly("ok1 entered");

    Result<? extends Record> rows =
        dsl.select(
                REJECTED_EVENTS.REASON,
                REJECTED_EVENTS.DETAIL,
                REJECTED_EVENTS.USER_ID,
                REJECTED_EVENTS.EVENT,
                REJECTED_EVENTS.PAYLOAD)
            .from(REJECTED_EVENTS)
            .orderBy(REJECTED_EVENTS.ID)
            .fetch();
    for (int i = 0; i < rows.size(); i++) {
      Record r = rows.get(i);
      for (int f = 1; f < 5; f++) {
        Object v = r.get(f);
        if (v != null)
          assertThat(StorableText.problem((String) v)).as("row %d field %d", i, f).isNull();
      }
      assertThat(r.get(REJECTED_EVENTS.PAYLOAD)).as("row %d payload", i).isNotEmpty();
      assertThat(r.get(REJECTED_EVENTS.DETAIL)).as("row %d detail", i).isNotEmpty();
    }
    // A NUL shows as the six characters \u0000, a lone surrogate as its escape.
    assertThat(rows.get(0).get(REJECTED_EVENTS.PAYLOAD)).contains("\"userId\":\"h\\u00001\"");
    assertThat(rows.get(4).get(REJECTED_EVENTS.PAYLOAD)).contains("\"c\":\"v\\u0000\"");
    assertThat(rows.get(6).get(REJECTED_EVENTS.PAYLOAD)).contains("hi\\ud800gh");
    assertThat(rows.get(7).get(REJECTED_EVENTS.PAYLOAD)).contains("lo\\udc00w");
    // The events that are refused for another reason keep their (escaped) ids.
    int deep = hostile.size() - 4;
    assertThat(rows.get(deep).get(REJECTED_EVENTS.REASON)).isEqualTo("too_deep");
    assertThat(rows.get(deep).get(REJECTED_EVENTS.USER_ID)).isEqualTo("evil\\u0000");
    assertThat(rows.get(deep).get(REJECTED_EVENTS.EVENT)).isEqualTo("a\\ud800");
    assertThat(rows.get(deep).get(REJECTED_EVENTS.PAYLOAD))
        .startsWith("{\"userId\":\"evil\\u0000\"");
    // Stored events keep their text exactly.
    assertThat(
            dsl.select(USER_EVENTS.PROPERTIES)
                .from(USER_EVENTS)
                .where(USER_EVENTS.USER_ID.eq("ok2"))
                .fetchOne(USER_EVENTS.PROPERTIES)
                .data())
        .contains(EMOJI);
  }

  @Test
  void aForgedUndecodableMarkerIsRecordedWithoutFailingTheBatch() {
    ObjectNode forged = F.objectNode();
    forged
        .putObject(SignalPayloadConverter.UNDECODABLE)
        .put("reason", "bad\u0000")
        .put("detail", "d\u0000")
        .put("raw", "r\u0000".repeat(50_000))
        .put("bytes", 3);

    IngestOutcome outcome = service.apply(batch(ev("ok1", "a"), forged, ev("ok2", "b")));

    assertThat(outcome.stored()).isEqualTo(2);
    assertThat(rejectedReasons(dsl)).containsExactly("not_an_object");
    assertThat(
            dsl.select(REJECTED_EVENTS.PAYLOAD)
                .from(REJECTED_EVENTS)
                .fetchOne(REJECTED_EVENTS.PAYLOAD)
                .length())
        .isLessThan(EventShape.MAX_EVENT_BYTES);
  }

  // ---------------------------------------------------------------------------------------------
  // (b) idempotency keys are per user

  @Test
  void idempotencyKeysArePerUser() {
    IngestOutcome first =
        service.apply(
            batch(
                ev("alice", "order").put("idempotencyKey", "order-1"),
                ev("bob", "order").put("idempotencyKey", "order-1")));
    assertThat(first.stored()).isEqualTo(2);

    IngestOutcome second =
        service.apply(
            batch(
                ev("alice", "order").put("idempotencyKey", "order-1"),
                ev("carol", "order").put("idempotencyKey", "order-1"),
                ev("carol", "order").put("idempotencyKey", "order-1"),
                ev("dave", "order").put("idempotencyKey", "bucket:trial:dave:entered:1")));
    assertThat(second.stored()).isEqualTo(1);
    assertThat(second.duplicates()).isEqualTo(2);
    assertThat(rejectedReasons(dsl)).containsExactly("reserved_key");

    assertThat(clientEvents(dsl)).containsExactly("alice order", "bob order", "carol order");
    assertThat(dsl.fetchCount(USER_EVENTS, USER_EVENTS.IDEMPOTENCY_KEY.eq("order-1"))).isEqualTo(3);
    assertThat(dsl.fetchCount(USER_EVENTS, USER_EVENTS.USER_ID.eq("dave"))).isZero();
  }

  @Test
  void aClientKeyCannotShadowATransitionEvent() {
    // Had the client key been accepted, the transition's bucket:entered event would collide with
    // it.
    service.apply(
        batch(
            ev("carol", "ping", "plan", "trial")
                .put("idempotencyKey", "bucket:trial:carol:entered:1")));
    assertThat(rejectedReasons(dsl)).containsExactly("reserved_key");
    service.apply(batch(ev("carol", "ping", "plan", "trial")));
    assertThat(
            dsl.select(USER_EVENTS.EVENT)
                .from(USER_EVENTS)
                .where(USER_EVENTS.IDEMPOTENCY_KEY.eq("bucket:trial:carol:entered:1"))
                .fetch(USER_EVENTS.EVENT))
        .containsExactly("bucket:entered:trial");
  }

  // ---------------------------------------------------------------------------------------------
  // (c) poison isolation

  /** 5 events of 3 users; the poison one (u2, plan trial) would make u2 enter the bucket. */
  static List<ObjectNode> poisonBatch(boolean withPoison) {
    List<ObjectNode> l = new ArrayList<>();
    l.add(ev("u1", "signup", "plan", "trial").put("idempotencyKey", "u1-signup"));
    if (withPoison) l.add(ev("u2", "poison", "plan", "trial"));
    l.add(ev("u3", "signup", "plan", "trial"));
    l.add(ev("u2", "page.view", "seats", 2));
    l.add(ev("u3", "upgrade", "plan", "pro"));
    l.add(ev("u1", "signup", "plan", "trial").put("idempotencyKey", "u1-signup")); // a duplicate
    return l;
  }

  void installCheckConstraint() {
    dsl.execute("ALTER TABLE user_events ADD CONSTRAINT no_poison CHECK (event <> 'poison')");
  }

  void installTrigger(String poisonState, String flakyState) {
    dsl.execute(
        "CREATE FUNCTION poison_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            + "IF NEW.event = 'poison' THEN RAISE EXCEPTION 'poison event refused' USING ERRCODE = '"
            + poisonState
            + "'; END IF; "
            + (flakyState == null
                ? ""
                : "IF NEW.event = 'flaky' THEN RAISE EXCEPTION 'try again' USING ERRCODE = '"
                    + flakyState
                    + "'; END IF; ")
            + "RETURN NEW; END $$");
    dsl.execute(
        "CREATE TRIGGER poison_trigger BEFORE INSERT ON user_events FOR EACH ROW EXECUTE FUNCTION poison_fn()");
  }

  /** Everything the batch wrote that isolation must reproduce, by user in order. */
  static List<List<String>> snapshot(DSLContext dsl) {
    var t = BUCKET_TRANSITIONS;
    var m = BUCKET_MEMBERSHIPS;
    var e = USER_EVENTS;
    return List.of(
        dsl.select(t.USER_ID, t.BUCKET_ID, t.KIND, t.EPOCH, t.SOURCE, t.EMITTED)
            .from(t)
            .orderBy(t.USER_ID, t.ID)
            .fetch()
            .map(HostileIngestTest::row),
        dsl.select(
                m.USER_ID, m.BUCKET_ID, m.STATUS, m.ENTERED_AT, m.LEFT_AT, m.ENTRY_COUNT, m.SOURCE)
            .from(m)
            .orderBy(m.USER_ID, m.ID)
            .fetch()
            .map(HostileIngestTest::row),
        // Client events and transition events each in their order per user (how row ids of the
        // two interleave differs between one insert per batch and one per item, and means nothing).
        dsl.select(
                e.USER_ID, e.EVENT, e.PROPERTIES, e.OCCURRED_AT, e.RECEIVED_AT, e.IDEMPOTENCY_KEY)
            .from(e)
            .where(e.EVENT.notLike("bucket:%"))
            .orderBy(e.USER_ID, e.ID)
            .fetch()
            .map(HostileIngestTest::row),
        dsl.select(
                e.USER_ID, e.EVENT, e.PROPERTIES, e.OCCURRED_AT, e.RECEIVED_AT, e.IDEMPOTENCY_KEY)
            .from(e)
            .where(e.EVENT.like("bucket:%"))
            .orderBy(e.USER_ID, e.ID)
            .fetch()
            .map(HostileIngestTest::row),
        dsl.select(CONTACTS.EXTERNAL_ID, CONTACTS.EMAIL, CONTACTS.PROPERTIES, CONTACTS.DELETED_AT)
            .from(CONTACTS)
            .orderBy(CONTACTS.EXTERNAL_ID)
            .fetch()
            .map(HostileIngestTest::row));
  }

  static String row(Record r) {
    return r.intoList().toString();
  }

  void assertIsolated(String sqlstate) {
    IngestBatch poisoned = batch(true, poisonBatch(true));
    IngestService.Applied applied = service.applyWithTransitions(poisoned);

    IngestOutcome outcome = applied.outcome();
    assertThat(outcome.duplicateBatch()).isFalse();
    assertThat(outcome.stored()).isEqualTo(4);
    assertThat(outcome.duplicates()).isEqualTo(1);
    assertThat(outcome.rejected()).isEqualTo(1);
    assertThat(outcome.transitions()).isEqualTo(3);
    assertThat(applied.transitions()).hasSize(3);

    // By hand: u1 and u3 enter, u3 leaves; u2 never had plan=trial except in the poison event.
    assertThat(
            dsl.select(BUCKET_TRANSITIONS.USER_ID, BUCKET_TRANSITIONS.KIND)
                .from(BUCKET_TRANSITIONS)
                .orderBy(BUCKET_TRANSITIONS.ID)
                .fetch()
                .map(r -> r.value1() + " " + r.value2()))
        .containsExactlyInAnyOrder("u1 entered", "u3 entered", "u3 left");
    assertThat(clientEvents(dsl))
        .containsExactly("u1 signup", "u3 signup", "u2 page.view", "u3 upgrade");
    assertThat(
            dsl.select(CONTACTS.PROPERTIES)
                .from(CONTACTS)
                .where(CONTACTS.EXTERNAL_ID.eq("u2"))
                .fetchOne(CONTACTS.PROPERTIES)
                .data())
        .doesNotContain("plan");

    var rej = dsl.selectFrom(REJECTED_EVENTS).fetchSingle();
    assertThat(rej.getReason()).isEqualTo("unprocessable");
    assertThat(rej.getUserId()).isEqualTo("u2");
    assertThat(rej.getEvent()).isEqualTo("poison");
    assertThat(rej.getDetail()).contains("SQLSTATE " + sqlstate);
    assertThat(rej.getPayload()).contains("\"event\":\"poison\"");

    // Exactly what the batch without the poison event records in a fresh database.
    List<List<String>> isolated = snapshot(dsl);
    try (TestDatabase fresh = TestDatabase.fresh()) {
      DSLContext other = fresh.dsl();
      IngestOutcome clean =
          newService(other, new MutableClock(T0))
              .apply(new IngestBatch("clean", 0, batch(true, poisonBatch(false)).events()));
      assertThat(clean.stored()).isEqualTo(4);
      assertThat(snapshot(other)).isEqualTo(isolated);
    }

    // A retry of the same batch id changes nothing.
    IngestOutcome retry = service.apply(poisoned);
    assertThat(retry.duplicateBatch()).isTrue();
    assertThat(snapshot(dsl)).isEqualTo(isolated);
    assertThat(dsl.fetchCount(REJECTED_EVENTS)).isEqualTo(1);
    assertThat(dsl.fetchCount(INGEST_BATCHES)).isEqualTo(1);
  }

  @Test
  void aCheckViolationIsIsolatedToItsEvent() {
    installCheckConstraint();
    assertIsolated("23514");
    assertThat(dsl.fetchOne(REJECTED_EVENTS).get(REJECTED_EVENTS.DETAIL)).contains("no_poison");
  }

  @Test
  void aDataExceptionRaisedByATriggerIsIsolatedToItsEvent() {
    installTrigger("22023", null);
    assertIsolated("22023");
    assertThat(dsl.fetchOne(REJECTED_EVENTS).get(REJECTED_EVENTS.DETAIL))
        .contains("poison event refused");
  }

  @Test
  void severalPoisonEventsAndDoorRejectionsInOneBatchAreAllRecorded() {
    installCheckConstraint();
    IngestOutcome outcome =
        service.apply(
            batch(
                ev("u1", "poison"),
                ev("u1", "a", "plan", "trial"),
                ev("u2", "a\u0000"),
                ev("u2", "poison"),
                ev("u3", "b")));
    assertThat(outcome.stored()).isEqualTo(2);
    assertThat(rejectedReasons(dsl))
        .containsExactlyInAnyOrder("unprocessable", "unprocessable", "invalid_text");
    assertThat(clientEvents(dsl)).containsExactly("u1 a", "u3 b");
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS)).isEqualTo(1);
  }

  // ---------------------------------------------------------------------------------------------
  // (d) transient errors are not isolated

  void assertNothingWritten() {
    assertThat(dsl.fetchCount(USER_EVENTS)).isZero();
    assertThat(dsl.fetchCount(REJECTED_EVENTS)).isZero();
    assertThat(dsl.fetchCount(INGEST_BATCHES)).isZero();
    assertThat(dsl.fetchCount(CONTACTS)).isZero();
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS)).isZero();
  }

  @ParameterizedTest(name = "SQLSTATE {0}")
  @ValueSource(strings = {"40001", "40P01", "57014"})
  void aTransientErrorFailsTheAttemptAndARetryAppliesTheBatch(String sqlstate) {
    installTrigger(sqlstate, null);
    IngestBatch b = batch(true, poisonBatch(true));

    assertThatThrownBy(() -> service.apply(b))
        .isInstanceOf(RuntimeException.class)
        .satisfies(e -> assertThat(DataErrors.message(e)).contains("SQLSTATE " + sqlstate));
    assertNothingWritten();

    removePoison(); // the condition clears; the activity's retry applies the whole batch
    IngestOutcome retry = service.apply(b);
    assertThat(retry.stored()).isEqualTo(5);
    assertThat(retry.rejected()).isZero();
    assertThat(clientEvents(dsl)).contains("u2 poison");
  }

  @Test
  void aTransientErrorDuringIsolationIsNotRecordedAsUnprocessable() {
    // The whole batch fails with a data error, then one item fails transiently while isolating.
    installTrigger("23514", "40001");
    IngestBatch b = batch(ev("u1", "poison"), ev("u2", "ok"), ev("u3", "flaky"));

    assertThatThrownBy(() -> service.apply(b))
        .satisfies(e -> assertThat(DataErrors.message(e)).contains("40001"));
    assertNothingWritten();
  }

  @Test
  void aConnectionLossIsTransient() {
    assertThat(
            DataErrors.isDataError(
                new org.jooq.exception.DataAccessException(
                    "x", new java.sql.SQLException("connection closed", "08006"))))
        .isFalse();
    assertThat(
            DataErrors.isDataError(
                new org.jooq.exception.DataAccessException(
                    "x", new java.sql.SQLException("check", "23514"))))
        .isTrue();
    assertThat(DataErrors.isDataError(new IllegalStateException("no SQL at all"))).isFalse();
  }

  // ---------------------------------------------------------------------------------------------
  // (e) spill round trip

  @Test
  void spillKeepsOrderAndContentAndARetriedStoreChangesNothing() {
    ObjectNode nul = ev("u1", "a", "s", "x\u0000y");
    ObjectNode emoji = ev("u2", "smile" + EMOJI, "face" + EMOJI, EMOJI);
    ObjectNode lone = ev("u3", "a", "s", "lone\uD800");
    List<PendingEvent> events =
        List.of(
            new PendingEvent(nul, 1L),
            new PendingEvent(emoji, 2L),
            new PendingEvent(lone, 3L),
            new PendingEvent(ev("u1", "x"), 4L, PendingEvent.DELETE_CONTACT),
            PendingEvent.admit(ev("u4", "a", "blob", "z".repeat(40 * 1024)), 5L, null));
    SpillStore spill = service.spill();

    spill.store("bucketflow-ingest-3", new SpillSegment("run-a/0", 3, events));
    spill.store(
        "bucketflow-ingest-3",
        new SpillSegment("run-a/1", 3, List.of(new PendingEvent(ev("u9", "b"), 6L))));
    // A store under an id already used (a chain started afresh reuses sequence numbers) replaces
    // the stale segment; a retried store (same contents) leaves the same segment.
    spill.store(
        "bucketflow-ingest-3",
        new SpillSegment("run-a/0", 3, List.of(new PendingEvent(ev("stale", "e"), 9L))));
    assertThat(spill.load("run-a/0", 3).events())
        .extracting(e -> e.payload().get("userId").asText())
        .containsExactly("stale");
    spill.store("bucketflow-ingest-3", new SpillSegment("run-a/0", 3, events));
    spill.store("bucketflow-ingest-3", new SpillSegment("run-a/0", 3, events));

    SpillSegment loaded = spill.load("run-a/0", 3);
    assertThat(loaded.id()).isEqualTo("run-a/0");
    assertThat(loaded.shard()).isEqualTo(3);
    assertThat(loaded.events()).isEqualTo(events);
    assertThat(loaded.events().get(0).payload().at("/properties/s").textValue())
        .isEqualTo("x\u0000y");
    assertThat(loaded.events().get(1).payload().at("/event").textValue())
        .isEqualTo("smile" + EMOJI);
    assertThat(loaded.events().get(2).payload().at("/properties/s").textValue())
        .isEqualTo("lone\uD800");
    assertThat(loaded.events().get(3).op()).isEqualTo(PendingEvent.DELETE_CONTACT);
    assertThat(loaded.events().get(4).isRejected()).isTrue();
    assertThat(dsl.fetchCount(INGEST_SPILL)).isEqualTo(2);
    assertThat(
            dsl.select(INGEST_SPILL.EVENT_COUNT)
                .from(INGEST_SPILL)
                .where(INGEST_SPILL.SEGMENT_ID.eq("run-a/0"))
                .fetchOne(INGEST_SPILL.EVENT_COUNT))
        .isEqualTo(5);

    // The batch that follows releases it in its own transaction, and applies the loaded events.
    IngestOutcome outcome =
        service.apply(new IngestBatch("after-spill", 3, loaded.events(), List.of("run-a/0")));
    assertThat(outcome.stored())
        .isEqualTo(1); // u2; u1 and u3 are invalid_text, u4 too large, the delete an op
    assertThat(rejectedReasons(dsl))
        .containsExactly("invalid_text", "invalid_text", "payload_too_large");
    assertThat(
            dsl.select(INGEST_SPILL.SEGMENT_ID).from(INGEST_SPILL).fetch(INGEST_SPILL.SEGMENT_ID))
        .containsExactly("run-a/1");
    assertThatThrownBy(() -> spill.load("run-a/0", 3)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aBatchRolledBackByATransientErrorDoesNotReleaseItsSpill() {
    service
        .spill()
        .store(
            "wf", new SpillSegment("run-b/0", 0, List.of(new PendingEvent(ev("u1", "flaky"), 1L))));
    installTrigger("22023", "40001");
    IngestBatch b =
        new IngestBatch(
            "release-b", 0, List.of(new PendingEvent(ev("u1", "flaky"), 1L)), List.of("run-b/0"));
    assertThatThrownBy(() -> service.apply(b));
    assertThat(dsl.fetchCount(INGEST_SPILL)).isEqualTo(1);
    removePoison();
    service.apply(b);
    assertThat(dsl.fetchCount(INGEST_SPILL)).isZero();
  }
}
