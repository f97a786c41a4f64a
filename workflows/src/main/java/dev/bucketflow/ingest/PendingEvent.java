package dev.bucketflow.ingest;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;
import java.util.Set;

/**
 * A signalled item and the workflow time it was received (the default {@code occurredAt}). {@code
 * op} is null for an event, else the contact operation signalled: {@code deleteContact}, {@code
 * addToBucket} or {@code removeFromBucket}, or {@code rejected} for an item refused at the door
 * (its payload is then the rejection: reason, detail, userId, event, the raw text). Operations
 * travel in the same ordered stream as events, so a user's deletion or manual change applies
 * exactly between their events.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record PendingEvent(JsonNode payload, long receivedAtMillis, String op) {

  public static final String DELETE_CONTACT = "deleteContact";
  public static final String ADD_TO_BUCKET = "addToBucket";
  public static final String REMOVE_FROM_BUCKET = "removeFromBucket";
  public static final String REJECTED = "rejected";

  /** Bytes of the raw payload a door rejection keeps for the operator. */
  static final int RAW_KEPT_CHARS = 4096;

  /** Bytes a pending item adds around its payload when serialized (field names, time, op). */
  static final int FRAME_BYTES = 80;

  /** The reasons {@link SignalPayloadConverter} puts in an undecodable marker. */
  static final Set<String> UNDECODABLE_REASONS =
      Set.of("not_an_object", "too_deep", "invalid_field", "field_too_long", "invalid_text");

  public PendingEvent(JsonNode payload, long receivedAtMillis) {
    this(payload, receivedAtMillis, null);
  }

  /**
   * What the signal handler buffers for {@code payload}: the item itself, or — when it could not be
   * decoded or fails {@link EventShape} — its rejection, so that nothing oversized, too deep or
   * unserializable ever travels inside a batch, and nothing is dropped.
   */
  public static PendingEvent admit(JsonNode payload, long receivedAtMillis, String op) {
    if (payload != null
        && payload.isObject()
        && payload.get(SignalPayloadConverter.UNDECODABLE) instanceof ObjectNode u) {
      // A client can send this marker itself: keep only a known reason and bounded, storable text,
      // so it cannot carry an oversized item past the door or a reason PostgreSQL refuses.
      String reason = u.path("reason").asText("not_an_object");
      if (!UNDECODABLE_REASONS.contains(reason)) reason = "not_an_object";
      return rejection(
          reason,
          StorableText.of(u.path("detail").asText(""), 1000),
          null,
          null,
          StorableText.of(u.path("raw").asText(""), RAW_KEPT_CHARS + 64)
              + " ("
              + u.path("bytes").asLong()
              + " bytes)",
          receivedAtMillis);
    }
    Optional<EventShape.Refusal> refusal = EventShape.check(payload);
    if (refusal.isEmpty()) return new PendingEvent(payload, receivedAtMillis, op);
    String what = op == null ? "" : op + " ";
    return rejection(
        refusal.get().reason(),
        what + refusal.get().detail(),
        shortText(payload, "userId"),
        shortText(payload, "event"),
        EventShape.render(payload, RAW_KEPT_CHARS),
        receivedAtMillis);
  }

  static PendingEvent rejection(
      String reason,
      String detail,
      String userId,
      String event,
      String raw,
      long receivedAtMillis) {
    ObjectNode r = JsonNodeFactory.instance.objectNode();
    r.put("reason", reason)
        .put("detail", detail)
        .put("userId", userId)
        .put("event", event)
        .put("raw", raw);
    return new PendingEvent(r, receivedAtMillis, REJECTED);
  }

  private static String shortText(JsonNode payload, String field) {
    JsonNode v = payload == null ? null : payload.get(field);
    return v != null && v.isTextual() ? StorableText.of(v.textValue(), 300) : null;
  }

  @JsonIgnore // not part of the payload: derived from op
  public boolean isEvent() {
    return op == null;
  }

  /** A contact operation (applied by itself), as opposed to an event or a door rejection. */
  @JsonIgnore
  public boolean isContactOp() {
    return op != null && !REJECTED.equals(op);
  }

  @JsonIgnore
  public boolean isRejected() {
    return REJECTED.equals(op);
  }

  /** Upper bound of this item's serialized size, counted up to {@code stopAt}. */
  public long serializedBytes(long stopAt) {
    return FRAME_BYTES + EventShape.jsonBytes(payload, stopAt);
  }
}
