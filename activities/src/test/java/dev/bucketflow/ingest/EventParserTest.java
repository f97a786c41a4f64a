package dev.bucketflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.event.IncomingEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The door checks of DESIGN §4/§13, one test per reason and boundary (no database). */
class EventParserTest {

  static final JsonNodeFactory F = JsonNodeFactory.instance;
  static final Instant RECEIVED = Instant.parse("2026-11-26T10:00:00Z");
  static final String EMOJI = "\uD83D\uDE00"; // 😀, a valid surrogate pair

  final EventParser parser = new EventParser();

  static ObjectNode ok() {
    ObjectNode e = F.objectNode();
    e.put("userId", "u1").put("event", "app.active");
    return e;
  }

  static PendingEvent pending(ObjectNode e) {
    return new PendingEvent(e, RECEIVED.toEpochMilli());
  }

  IncomingEvent accepted(ObjectNode e) {
    return accepted(parser, e);
  }

  static IncomingEvent accepted(EventParser parser, ObjectNode e) {
    EventParser.Parsed p = parser.parse(pending(e));
    assertThat(p).as("accepted: %s", e).isInstanceOf(EventParser.Accepted.class);
    return ((EventParser.Accepted) p).event();
  }

  Rejection refused(ObjectNode e, String reason) {
    return refused(parser, e, reason);
  }

  static Rejection refused(EventParser parser, ObjectNode e, String reason) {
    EventParser.Parsed p = parser.parse(pending(e));
    assertThat(p)
        .as("refused: %s", EventShape.render(e, 300))
        .isInstanceOf(EventParser.Refused.class);
    Rejection r = ((EventParser.Refused) p).rejection();
    assertThat(r.reason()).as("reason, detail %s", r.detail()).isEqualTo(reason);
    return r;
  }

  /** A string of exactly {@code n} UTF-8 bytes made of ASCII letters. */
  static String bytes(int n) {
    return "a".repeat(n);
  }

  static ObjectNode nest(ObjectNode props, int levels) {
    // properties itself is level 1: add levels - 1 objects below it.
    ObjectNode cur = props;
    for (int i = 2; i <= levels; i++) cur = cur.putObject("l" + i);
    cur.put("leaf", 1);
    return props;
  }

  @Test
  void anOrdinaryEventIsAccepted() {
    ObjectNode e = ok();
    e.putObject("properties").put("plan", "trial");
    IncomingEvent in = accepted(e);
    assertThat(in.userId()).isEqualTo("u1");
    assertThat(in.event()).isEqualTo("app.active");
    assertThat(in.occurredAt()).isEqualTo(RECEIVED);
    assertThat(in.properties().path("plan").asText()).isEqualTo("trial");
  }

  @Nested
  class InvalidText {

    @Test
    void nulInUserId() {
      Rejection r = refused(ok().put("userId", "u\u00001"), "invalid_text");
      assertThat(r.detail()).startsWith("userId").contains("NUL");
    }

    @Test
    void nulInEventName() {
      Rejection r = refused(ok().put("event", "app\u0000active"), "invalid_text");
      assertThat(r.detail()).startsWith("event").contains("NUL");
    }

    @Test
    void nulInUserEmail() {
      Rejection r = refused(ok().put("userEmail", "a\u0000@b.c"), "invalid_text");
      assertThat(r.detail()).startsWith("userEmail").contains("NUL");
    }

    @Test
    void nulInIdempotencyKey() {
      Rejection r = refused(ok().put("idempotencyKey", "k\u0000"), "invalid_text");
      assertThat(r.detail()).startsWith("idempotencyKey");
    }

    @Test
    void nulInPropertyKey() {
      ObjectNode e = ok();
      e.putObject("properties").put("pl\u0000an", "trial");
      Rejection r = refused(e, "invalid_text");
      assertThat(r.detail()).startsWith("properties.pl").contains("property key").contains("NUL");
      // The detail itself is storable: the NUL is shown escaped.
      assertThat(r.detail()).doesNotContain("\u0000").contains("\\u0000");
    }

    @Test
    void nulInNestedPropertyValue() {
      ObjectNode e = ok();
      e.putObject("properties").putObject("a").putObject("b").put("c", "x\u0000y");
      Rejection r = refused(e, "invalid_text");
      assertThat(r.detail()).startsWith("properties.a.b.c").contains("NUL");
    }

    @Test
    void nulInArrayElement() {
      ObjectNode e = ok();
      e.putObject("properties").putArray("tags").add("ok").add("bad\u0000");
      Rejection r = refused(e, "invalid_text");
      assertThat(r.detail()).startsWith("properties.tags[1]").contains("NUL");
    }

    @Test
    void nulInNestedPropertyKeyInsideAnArray() {
      ObjectNode e = ok();
      e.putObject("properties").putArray("items").addObject().put("k\u0000", 1);
      Rejection r = refused(e, "invalid_text");
      assertThat(r.detail()).startsWith("properties.items[0].k").contains("property key");
    }

    @Test
    void loneHighSurrogate() {
      ObjectNode e = ok();
      e.putObject("properties").put("name", "x\uD83Dy");
      Rejection r = refused(e, "invalid_text");
      assertThat(r.detail())
          .startsWith("properties.name")
          .contains("unpaired surrogate")
          .contains("d83d");
    }

    @Test
    void loneHighSurrogateAtTheEnd() {
      Rejection r = refused(ok().put("userId", "u\uD83D"), "invalid_text");
      assertThat(r.detail()).startsWith("userId").contains("unpaired surrogate");
    }

    @Test
    void loneLowSurrogate() {
      Rejection r = refused(ok().put("event", "\uDE00app"), "invalid_text");
      assertThat(r.detail()).startsWith("event").contains("unpaired surrogate").contains("de00");
    }

    @Test
    void reversedPairIsTwoLoneSurrogates() {
      Rejection r = refused(ok().put("userEmail", "\uDE00\uD83D@b.c"), "invalid_text");
      assertThat(r.detail()).startsWith("userEmail");
    }

    @Test
    void validSurrogatePairIsAcceptedEverywhere() {
      ObjectNode e =
          ok().put("userId", "u" + EMOJI)
              .put("event", "smile" + EMOJI)
              .put("userEmail", EMOJI + "@b.c")
              .put("idempotencyKey", "k" + EMOJI);
      e.putObject("properties").put("face" + EMOJI, EMOJI).putArray("list").add(EMOJI + EMOJI);
      IncomingEvent in = accepted(e);
      assertThat(in.userId()).isEqualTo("u" + EMOJI);
      assertThat(in.properties().path("face" + EMOJI).asText()).isEqualTo(EMOJI);
    }
  }

  @Nested
  class Lengths {

    @Test
    void userIdOf256BytesAcceptedAnd257Refused() {
      assertThat(accepted(ok().put("userId", bytes(256))).userId()).hasSize(256);
      Rejection r = refused(ok().put("userId", bytes(257)), "field_too_long");
      assertThat(r.detail()).startsWith("userId").contains("256");
    }

    @Test
    void userIdCountsUtf8BytesNotChars() {
      String euro85 = "€".repeat(85);
      String euro86 = "€".repeat(86);
      assertThat(euro85.getBytes(StandardCharsets.UTF_8)).hasSize(255);
      assertThat(euro86.getBytes(StandardCharsets.UTF_8)).hasSize(258);
      assertThat(accepted(ok().put("userId", euro85)).userId()).isEqualTo(euro85);
      Rejection r = refused(ok().put("userId", euro86), "field_too_long");
      assertThat(r.detail()).startsWith("userId");
    }

    @Test
    void userIdOfEmojiCountsFourBytesPerPair() {
      // 64 emoji = 128 chars = 256 bytes: accepted; one more 'a' = 257 bytes.
      accepted(ok().put("userId", EMOJI.repeat(64)));
      refused(ok().put("userId", EMOJI.repeat(64) + "a"), "field_too_long");
    }

    @Test
    void eventNameOf200BytesAcceptedAnd201Refused() {
      assertThat(accepted(ok().put("event", bytes(200))).event()).hasSize(200);
      Rejection r = refused(ok().put("event", bytes(201)), "field_too_long");
      assertThat(r.detail()).startsWith("event").contains("200");
      // 67 × "€" = 201 bytes in 67 chars.
      refused(ok().put("event", "€".repeat(67)), "field_too_long");
      accepted(ok().put("event", "€".repeat(66)));
    }

    @Test
    void userEmailOf320BytesAcceptedAnd321Refused() {
      assertThat(accepted(ok().put("userEmail", bytes(314) + "@b.cde")).email()).hasSize(320);
      Rejection r = refused(ok().put("userEmail", bytes(315) + "@b.cde"), "field_too_long");
      assertThat(r.detail()).startsWith("userEmail").contains("320");
    }

    @Test
    void idempotencyKeyOf256BytesAcceptedAnd257Refused() {
      assertThat(accepted(ok().put("idempotencyKey", bytes(256))).idempotencyKey()).hasSize(256);
      Rejection r = refused(ok().put("idempotencyKey", bytes(257)), "field_too_long");
      assertThat(r.detail()).startsWith("idempotencyKey").contains("256");
      refused(ok().put("idempotencyKey", "€".repeat(86)), "field_too_long");
    }

    @Test
    void emptyIdempotencyKeyIsRefused() {
      Rejection r = refused(ok().put("idempotencyKey", ""), "invalid_field");
      assertThat(r.detail()).startsWith("idempotencyKey");
    }

    @Test
    void propertyKeyOf200BytesAcceptedAnd201RefusedAtDepthOne() {
      ObjectNode ok = ok();
      ok.putObject("properties").put(bytes(200), 1);
      accepted(ok);
      ObjectNode bad = ok();
      bad.putObject("properties").put(bytes(201), 1);
      Rejection r = refused(bad, "field_too_long");
      assertThat(r.detail()).startsWith("properties.aaaa").contains("property key").contains("200");
    }

    @Test
    void propertyKeyOf200BytesAcceptedAnd201RefusedAtDepthThree() {
      ObjectNode ok = ok();
      ok.putObject("properties").putObject("a").putObject("b").put(bytes(200), "v");
      accepted(ok);
      ObjectNode bad = ok();
      bad.putObject("properties").putObject("a").putObject("b").put(bytes(201), "v");
      Rejection r = refused(bad, "field_too_long");
      assertThat(r.detail()).startsWith("properties.a.b.aaaa").contains("property key");
    }

    @Test
    void propertyKeyInsideAnArrayIsCheckedToo() {
      ObjectNode bad = ok();
      bad.putObject("properties").putArray("items").add(1).addObject().put("€".repeat(67), 1);
      Rejection r = refused(bad, "field_too_long");
      assertThat(r.detail()).startsWith("properties.items[1].");
    }
  }

  @Nested
  class UserId {

    @Test
    void numberIsAnInvalidField() {
      ObjectNode e = ok();
      e.put("userId", 42);
      Rejection r = refused(e, "invalid_field");
      assertThat(r.detail()).startsWith("userId").contains("string");
    }

    @Test
    void objectIsAnInvalidField() {
      ObjectNode e = ok();
      e.putObject("userId").put("id", "u1");
      refused(e, "invalid_field");
    }

    @Test
    void emptyIsMissing() {
      Rejection r = refused(ok().put("userId", ""), "missing_user_id");
      assertThat(r.detail()).startsWith("userId");
    }

    @Test
    void blankIsMissing() {
      Rejection r = refused(ok().put("userId", "   "), "missing_user_id");
      assertThat(r.detail()).startsWith("userId");
    }

    @Test
    void absentAndNullAreMissing() {
      ObjectNode absent = ok();
      absent.remove("userId");
      assertThat(refused(absent, "missing_user_id").detail()).startsWith("userId");
      ObjectNode nul = ok();
      nul.putNull("userId");
      refused(nul, "missing_user_id");
    }
  }

  @Nested
  class OccurredAt {

    Rejection refusedAt(EventParser p, String occurredAt) {
      Rejection r = refused(p, ok().put("occurredAt", occurredAt), "invalid_field");
      assertThat(r.detail()).startsWith("occurredAt");
      return r;
    }

    @Test
    void farPastIsRefusedAsBefore1970() {
      assertThat(refusedAt(parser, "-5000-01-01T00:00:00Z").detail()).contains("1970");
    }

    @Test
    void oneSecondBefore1970IsRefused() {
      assertThat(refusedAt(parser, "1969-12-31T23:59:59Z").detail()).contains("before 1970");
    }

    @Test
    void theEpochItselfIsAccepted() {
      assertThat(accepted(ok().put("occurredAt", "1970-01-01T00:00:00Z")).occurredAt())
          .isEqualTo(Instant.EPOCH);
    }

    @Test
    void beyondPostgresRangeIsRefusedAsTooFarInTheFuture() {
      assertThat(refusedAt(parser, "+294276-12-30T00:00:00Z").detail())
          .contains("after the time it was received");
    }

    @Test
    void year9999IsRefusedAsTooFarInTheFuture() {
      assertThat(refusedAt(parser, "9999-01-01T00:00:00Z").detail())
          .contains("after the time it was received");
    }

    @Test
    void notAnInstantIsRefused() {
      assertThat(refusedAt(parser, "2026-13-01T00:00:00Z").detail()).contains("ISO-8601");
      assertThat(refusedAt(parser, "+1000000001-01-01T00:00:00Z").detail()).contains("ISO-8601");
    }

    @Test
    void defaultSkewAcceptsFourMinutesAndRefusesSix() {
      assertThat(
              accepted(ok().put("occurredAt", RECEIVED.plus(Duration.ofMinutes(4)).toString()))
                  .occurredAt())
          .isEqualTo(RECEIVED.plus(Duration.ofMinutes(4)));
      accepted(ok().put("occurredAt", RECEIVED.plus(Duration.ofMinutes(5)).toString()));
      assertThat(refusedAt(parser, RECEIVED.plus(Duration.ofMinutes(6)).toString()).detail())
          .contains("PT5M")
          .contains(RECEIVED.toString());
    }

    @Test
    void customSkewAcceptsThirtyMinutes() {
      EventParser hour = new EventParser(Duration.ofHours(1));
      String plus30 = RECEIVED.plus(Duration.ofMinutes(30)).toString();
      refusedAt(parser, plus30);
      assertThat(accepted(hour, ok().put("occurredAt", plus30)).occurredAt())
          .isEqualTo(Instant.parse(plus30));
      refusedAt(hour, RECEIVED.plus(Duration.ofMinutes(61)).toString());
    }
  }

  @Nested
  class Depth {

    @Test
    void thirtyTwoLevelsAcceptedThirtyThreeRefused() {
      ObjectNode ok = ok();
      nest(ok.putObject("properties"), 32);
      accepted(ok);
      ObjectNode bad = ok();
      nest(bad.putObject("properties"), 33);
      Rejection r = refused(bad, "too_deep");
      assertThat(r.detail()).startsWith("properties").contains("32");
    }

    @Test
    void arraysCountAsLevels() {
      ObjectNode bad = ok();
      ObjectNode props = bad.putObject("properties");
      ArrayNode cur = props.putArray("a"); // level 2
      for (int i = 3; i <= 33; i++) cur = cur.addArray();
      refused(bad, "too_deep");
    }

    @Test
    void oversizedEventIsPayloadTooLarge() {
      ObjectNode e = ok();
      e.putObject("properties").put("blob", "x".repeat(EventShape.MAX_EVENT_BYTES));
      Rejection r = refused(e, "payload_too_large");
      assertThat(r.detail())
          .startsWith("event")
          .contains(String.valueOf(EventShape.MAX_EVENT_BYTES));
    }

    @Test
    void doorRejectionOfAVeryDeepEventKeepsItsReason() {
      ObjectNode e = ok();
      ObjectNode cur = e.putObject("properties");
      for (int i = 0; i < 1200; i++) cur = cur.putObject("d");
      PendingEvent admitted = PendingEvent.admit(e, RECEIVED.toEpochMilli(), null);
      assertThat(admitted.isRejected()).isTrue();
      // What travels is small, whatever was sent.
      assertThat(admitted.serializedBytes(Long.MAX_VALUE)).isLessThan(EventShape.MAX_EVENT_BYTES);
      EventParser.Parsed p = parser.parse(admitted);
      assertThat(p).isInstanceOf(EventParser.Refused.class);
      Rejection r = ((EventParser.Refused) p).rejection();
      assertThat(r.reason()).isEqualTo("too_deep");
      assertThat(r.detail()).startsWith("properties");
      assertThat(r.userId()).isEqualTo("u1");
      assertThat(r.payload()).startsWith("{\"userId\":\"u1\"");
    }

    @Test
    void doorRejectionOfAnOversizedEventKeepsItsReason() {
      ObjectNode e = ok();
      e.putObject("properties").put("blob", "y".repeat(40 * 1024));
      PendingEvent admitted = PendingEvent.admit(e, RECEIVED.toEpochMilli(), null);
      assertThat(admitted.isRejected()).isTrue();
      assertThat(admitted.serializedBytes(Long.MAX_VALUE)).isLessThan(EventShape.MAX_EVENT_BYTES);
      Rejection r = ((EventParser.Refused) parser.parse(admitted)).rejection();
      assertThat(r.reason()).isEqualTo("payload_too_large");
      assertThat(r.detail()).startsWith("event");
      assertThat(r.event()).isEqualTo("app.active");
    }

    @Test
    void anAdmittedOrdinaryEventTravelsAsItself() {
      ObjectNode e = ok();
      nest(e.putObject("properties"), 32);
      PendingEvent admitted = PendingEvent.admit(e, RECEIVED.toEpochMilli(), null);
      assertThat(admitted.isEvent()).isTrue();
      assertThat(admitted.payload()).isSameAs(e);
    }
  }

  @Nested
  class Reserved {

    @Test
    void bucketPrefixedIdempotencyKeyIsReserved() {
      Rejection r =
          refused(ok().put("idempotencyKey", "bucket:ping7:carol:entered:1"), "reserved_key");
      assertThat(r.detail()).startsWith("idempotencyKey");
    }

    @Test
    void bucketPrefixedEventNameIsReserved() {
      Rejection r = refused(ok().put("event", "bucket:entered:x"), "reserved_event");
      assertThat(r.detail()).startsWith("event");
    }

    @Test
    void aKeyMerelyContainingBucketIsAccepted() {
      accepted(ok().put("idempotencyKey", "my-bucket:1"));
      accepted(ok().put("idempotencyKey", "Bucket:1"));
    }
  }

  @Nested
  class RejectedPayload {

    @Test
    void payloadOfARefusedEventIsStorableText() {
      ObjectNode e = ok().put("userId", "u\u00001");
      e.putObject("properties").put("s", "x\uD800y").put("ok", EMOJI);
      Rejection r = refused(e, "invalid_text");
      assertThat(r.payload())
          .doesNotContain("\u0000")
          .contains("u\\u00001")
          .doesNotContain("\uD800y")
          .contains("x\\ud800y")
          .contains(EMOJI);
      assertThat(StorableText.problem(r.payload())).isNull();
    }
  }

  /**
   * A client can send, as an ordinary event, the marker object the payload converter uses for
   * undecodable signals. It must not smuggle an oversized item past the door's 32 KiB check, nor a
   * reason PostgreSQL cannot store (which would fail every attempt of the batch).
   */
  @Nested
  class ForgedUndecodableMarker {

    @Test
    void isBoundedAndStorable() {
      ObjectNode e = F.objectNode();
      e.putObject(SignalPayloadConverter.UNDECODABLE)
          .put("reason", "x\u0000" + "r".repeat(100_000))
          .put("detail", "d".repeat(100_000))
          .put("bytes", 1)
          .put("raw", "z".repeat(200_000));
      PendingEvent admitted = PendingEvent.admit(e, RECEIVED.toEpochMilli(), null);
      assertThat(admitted.isRejected()).isTrue();
      assertThat(admitted.serializedBytes(Long.MAX_VALUE)).isLessThan(EventShape.MAX_EVENT_BYTES);
      Rejection r = ((EventParser.Refused) parser.parse(admitted)).rejection();
      assertThat(r.reason()).isIn("not_an_object", "too_deep", "invalid_field", "field_too_long");
    }

    @Test
    void aGenuineMarkerKeepsItsReason() {
      ObjectNode e = F.objectNode();
      e.putObject(SignalPayloadConverter.UNDECODABLE)
          .put("reason", "too_deep")
          .put("detail", "payload: nested deeper than the JSON reader allows (1,000 levels)")
          .put("bytes", 5000)
          .put("raw", "[[[[");
      Rejection r =
          ((EventParser.Refused) parser.parse(PendingEvent.admit(e, RECEIVED.toEpochMilli(), null)))
              .rejection();
      assertThat(r.reason()).isEqualTo("too_deep");
      assertThat(r.detail()).startsWith("payload");
      assertThat(r.payload()).startsWith("[[[[").contains("5000 bytes");
    }
  }
}
