package dev.bucketflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Validates one raw signalled event (DESIGN §4). Rejection reasons, stable and documented:
 * {@code not_an_object}, {@code missing_user_id}, {@code missing_event}, {@code reserved_event},
 * {@code invalid_properties}, {@code invalid_field}, {@code payload_too_large}, and {@code
 * deleted} (decided later, by the contact store).
 */
public final class EventParser {

  /** Largest accepted event, as serialized JSON. */
  public static final int MAX_EVENT_BYTES = 32 * 1024;

  public static final String RESERVED_PREFIX = "bucket:";

  /** Either {@code accepted} or {@code rejected} is set. */
  public record Parsed(IncomingEvent accepted, Rejection rejected) {}

  public static Parsed parse(PendingEvent pending) {
    JsonNode raw = pending.payload();
    String payload = raw == null ? "null" : raw.toString();
    if (!(raw instanceof ObjectNode node)) {
      return reject("not_an_object", "event: must be a JSON object", null, null, payload);
    }
    String userId = text(node, "userId");
    String event = text(node, "event");
    if (payload.getBytes(StandardCharsets.UTF_8).length > MAX_EVENT_BYTES) {
      return reject("payload_too_large",
          "event: larger than " + MAX_EVENT_BYTES + " bytes", userId, event, payload);
    }
    if (userId == null || userId.isBlank()) {
      return reject("missing_user_id", "userId: required non-empty string", userId, event, payload);
    }
    if (event == null || event.isBlank()) {
      return reject("missing_event", "event: required non-empty string", userId, event, payload);
    }
    if (event.startsWith(RESERVED_PREFIX)) {
      return reject("reserved_event",
          "event: names starting with '" + RESERVED_PREFIX + "' are reserved for bucket transitions",
          userId, event, payload);
    }
    JsonNode props = node.get("properties");
    if (props != null && !props.isNull() && !props.isObject()) {
      return reject("invalid_properties", "properties: must be a JSON object", userId, event, payload);
    }
    for (String field : new String[] {"userEmail", "occurredAt", "idempotencyKey"}) {
      JsonNode v = node.get(field);
      if (v != null && !v.isNull() && !v.isTextual()) {
        return reject("invalid_field", field + ": must be a string", userId, event, payload);
      }
    }
    Instant received = Instant.ofEpochMilli(pending.receivedAtMillis());
    Instant occurred = received;
    String occurredText = text(node, "occurredAt");
    if (occurredText != null) {
      try {
        // PostgreSQL keeps microseconds; evaluating the unrounded value in memory would disagree.
        occurred = Instant.parse(occurredText).truncatedTo(java.time.temporal.ChronoUnit.MICROS);
      } catch (DateTimeParseException e) {
        return reject("invalid_field",
            "occurredAt: not an ISO-8601 instant (e.g. 2026-11-26T10:00:00Z)", userId, event, payload);
      }
    }
    ObjectNode properties = props instanceof ObjectNode o ? o : Json.MAPPER.createObjectNode();
    return new Parsed(
        new IncomingEvent(userId, event, properties, text(node, "userEmail"), occurred, received,
            text(node, "idempotencyKey")),
        null);
  }

  private static String text(ObjectNode node, String field) {
    JsonNode v = node.get(field);
    return v != null && v.isTextual() ? v.asText() : null;
  }

  private static Parsed reject(String reason, String detail, String userId, String event, String payload) {
    return new Parsed(null, new Rejection(reason, detail, userId, event, payload));
  }

  private EventParser() {}
}
