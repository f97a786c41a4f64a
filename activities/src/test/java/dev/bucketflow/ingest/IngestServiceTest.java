package dev.bucketflow.ingest;

import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import dev.bucketflow.testing.DatabaseTest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class IngestServiceTest extends DatabaseTest {

  private IngestService service;
  private int batchSeq;

  @BeforeEach
  void clean() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, rejected_events, ingest_batches");
    service =
        new IngestService(
            dsl,
            dev.bucketflow.testing.Engines.engine(dsl, java.util.List.of()),
            java.time.Clock.systemUTC());
  }

  static JsonNode json(String text) {
    try {
      return Json.MAPPER.readTree(text);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  static PendingEvent pending(String text) {
    return new PendingEvent(json(text), Instant.parse("2026-11-26T10:00:00Z").toEpochMilli());
  }

  private IngestBatch batch(String... events) {
    List<PendingEvent> list = new ArrayList<>();
    for (String e : events) list.add(pending(e));
    return new IngestBatch("test/" + (batchSeq++), 0, list);
  }

  @Test
  void redeliveredBatchStoresNothingTwice() {
    IngestBatch batch =
        batch(
            "{\"userId\":\"u1\",\"event\":\"a\"}",
            "{\"userId\":\"u1\",\"event\":\"b\",\"idempotencyKey\":\"k1\"}",
            "{\"userId\":\"u2\",\"event\":\"a\",\"properties\":{\"n\":1}}");
    IngestOutcome first = service.apply(batch);
    IngestOutcome retry = service.apply(batch);

    assertThat(first).isEqualTo(new IngestOutcome(false, 3, 0, 0, 0, 0));
    assertThat(retry.duplicateBatch()).isTrue();
    assertThat(dsl.fetchCount(USER_EVENTS)).isEqualTo(3);
    assertThat(dsl.fetchCount(CONTACTS)).isEqualTo(2);
  }

  @Test
  void idempotencyKeyHoldsAcrossBatchesAndWithinOne() {
    service.apply(
        batch(
            "{\"userId\":\"u1\",\"event\":\"a\",\"idempotencyKey\":\"k\",\"properties\":{\"v\":1}}"));
    IngestOutcome second =
        service.apply(
            batch(
                "{\"userId\":\"u1\",\"event\":\"a\",\"idempotencyKey\":\"k\",\"properties\":{\"v\":2}}",
                "{\"userId\":\"u1\",\"event\":\"a\",\"idempotencyKey\":\"k2\",\"properties\":{\"w\":1}}",
                "{\"userId\":\"u1\",\"event\":\"a\",\"idempotencyKey\":\"k2\",\"properties\":{\"w\":2}}"));

    assertThat(second.stored()).isEqualTo(1);
    assertThat(second.duplicates()).isEqualTo(2);
    assertThat(dsl.fetchCount(USER_EVENTS)).isEqualTo(2);
    // A duplicate is not applied: its properties do not reach the contact.
    assertThat(properties("u1")).isEqualTo(json("{\"v\":1,\"w\":1}"));
  }

  /**
   * A contact is written only when its email or properties change: an event without properties, or
   * one repeating values the contact already has (even spread over two events of the batch), leaves
   * its row untouched (same xmin, no dead row); a new value, a new key or a new email writes it.
   */
  @Test
  void aContactIsRewrittenOnlyWhenItsEmailOrPropertiesChange() {
    service.apply(
        batch(
            "{\"userId\":\"u1\",\"event\":\"a\",\"userEmail\":\"a@x.io\",\"properties\":{\"plan\":\"pro\",\"n\":1}}"));
    String written = xmin("u1");

    service.apply(batch("{\"userId\":\"u1\",\"event\":\"a\"}"));
    service.apply(
        batch(
            "{\"userId\":\"u1\",\"event\":\"a\",\"properties\":{\"plan\":\"pro\"}}",
            "{\"userId\":\"u1\",\"event\":\"b\",\"userEmail\":\"a@x.io\",\"properties\":{\"n\":1}}"));
    assertThat(xmin("u1")).as("nothing changed: not rewritten").isEqualTo(written);

    service.apply(batch("{\"userId\":\"u1\",\"event\":\"a\",\"properties\":{\"n\":2}}"));
    String changed = xmin("u1");
    assertThat(changed).isNotEqualTo(written);
    service.apply(batch("{\"userId\":\"u1\",\"event\":\"a\",\"properties\":{\"beta\":null}}"));
    String added = xmin("u1");
    assertThat(added).as("a new key, even null").isNotEqualTo(changed);
    service.apply(batch("{\"userId\":\"u1\",\"event\":\"a\",\"userEmail\":\"b@x.io\"}"));
    assertThat(xmin("u1")).as("a new email").isNotEqualTo(added);
    // A value changed and changed back inside one batch nets to no change.
    String before = xmin("u1");
    service.apply(
        batch(
            "{\"userId\":\"u1\",\"event\":\"a\",\"properties\":{\"n\":3}}",
            "{\"userId\":\"u1\",\"event\":\"a\",\"properties\":{\"n\":2}}"));
    assertThat(xmin("u1")).isEqualTo(before);

    assertThat(properties("u1")).isEqualTo(json("{\"plan\":\"pro\",\"n\":2,\"beta\":null}"));
    assertThat(dsl.fetchValue("select email from contacts where external_id = 'u1'"))
        .isEqualTo("b@x.io");
  }

  private String xmin(String user) {
    return dsl.fetchValue("select xmin::text from contacts where external_id = ?", user).toString();
  }

  @Test
  void propertiesMergeShallowlyLaterEventWinsPerKey() {
    service.apply(
        batch(
            "{\"userId\":\"u1\",\"event\":\"a\",\"properties\":{\"plan\":\"free\",\"seats\":1,\"nested\":{\"x\":1}}}"));
    service.apply(
        batch(
            "{\"userId\":\"u1\",\"event\":\"b\",\"properties\":{\"plan\":\"trial\",\"nested\":{\"y\":2}}}",
            "{\"userId\":\"u1\",\"event\":\"c\",\"properties\":{\"plan\":\"pro\"},\"userEmail\":\"a@b.c\"}",
            "{\"userId\":\"u1\",\"event\":\"d\",\"properties\":{\"seats\":5}}"));

    assertThat(properties("u1"))
        .isEqualTo(json("{\"plan\":\"pro\",\"seats\":5,\"nested\":{\"y\":2}}"));
    assertThat(
            dsl.select(CONTACTS.EMAIL)
                .from(CONTACTS)
                .where(CONTACTS.EXTERNAL_ID.eq("u1"))
                .fetchOne(CONTACTS.EMAIL))
        .isEqualTo("a@b.c");
    // A later event without an email keeps the one stored; quotes and backslashes survive the
    // arrays.
    service.apply(
        batch(
            "{\"userId\":\"u1\",\"event\":\"e\",\"properties\":{\"note\":\"a \\\"q\\\" \\\\ {x,y}\"}}"));
    assertThat(
            dsl.select(CONTACTS.EMAIL)
                .from(CONTACTS)
                .where(CONTACTS.EXTERNAL_ID.eq("u1"))
                .fetchOne(CONTACTS.EMAIL))
        .isEqualTo("a@b.c");
    assertThat(properties("u1").get("note").asText()).isEqualTo("a \"q\" \\ {x,y}");
  }

  @Test
  void eachRejectionReasonIsRecordedAndTheRestOfTheBatchIsStored() {
    String big = "x".repeat(EventShape.MAX_EVENT_BYTES);
    IngestOutcome outcome =
        service.apply(
            batch(
                "{\"userId\":\"ok1\",\"event\":\"a\"}",
                "{\"event\":\"a\"}",
                "{\"userId\":\"u\"}",
                "{\"userId\":\"u\",\"event\":\"bucket:entered:x\"}",
                "{\"userId\":\"u\",\"event\":\"a\",\"properties\":[1,2]}",
                "{\"userId\":\"u\",\"event\":\"a\",\"properties\":{\"blob\":\"" + big + "\"}}",
                "\"just a string\"",
                "{\"userId\":\"u\",\"event\":\"a\",\"occurredAt\":\"yesterday\"}",
                "{\"userId\":\"ok2\",\"event\":\"b\",\"occurredAt\":\"2026-11-20T00:00:00Z\"}"));

    assertThat(outcome.stored()).isEqualTo(2);
    assertThat(outcome.rejected()).isEqualTo(7);
    assertThat(
            dsl.select(USER_EVENTS.USER_ID)
                .from(USER_EVENTS)
                .orderBy(USER_EVENTS.ID)
                .fetch(USER_EVENTS.USER_ID))
        .containsExactly("ok1", "ok2");
    assertThat(
            dsl.select(REJECTED_EVENTS.REASON)
                .from(REJECTED_EVENTS)
                .orderBy(REJECTED_EVENTS.ID)
                .fetch(REJECTED_EVENTS.REASON))
        .containsExactly(
            "missing_user_id",
            "missing_event",
            "reserved_event",
            "invalid_properties",
            "payload_too_large",
            "not_an_object",
            "invalid_field");
    assertThat(
            dsl.select(REJECTED_EVENTS.PAYLOAD)
                .from(REJECTED_EVENTS)
                .where(REJECTED_EVENTS.REASON.eq("reserved_event"))
                .fetchOne(REJECTED_EVENTS.PAYLOAD))
        .contains("bucket:entered:x");
    assertThat(
            dsl.select(USER_EVENTS.OCCURRED_AT)
                .from(USER_EVENTS)
                .where(USER_EVENTS.USER_ID.eq("ok2"))
                .fetchOne(USER_EVENTS.OCCURRED_AT))
        .isEqualTo(Instant.parse("2026-11-20T00:00:00Z"));
    assertThat(
            dsl.select(USER_EVENTS.OCCURRED_AT)
                .from(USER_EVENTS)
                .where(USER_EVENTS.USER_ID.eq("ok1"))
                .fetchOne(USER_EVENTS.OCCURRED_AT))
        .isEqualTo(Instant.parse("2026-11-26T10:00:00Z"));
  }

  private ObjectNode properties(String user) {
    return Json.object(
        dsl.select(CONTACTS.PROPERTIES)
            .from(CONTACTS)
            .where(CONTACTS.EXTERNAL_ID.eq(user))
            .fetchOne(CONTACTS.PROPERTIES));
  }
}
