package dev.bucketflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import dev.bucketflow.event.IncomingEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

/**
 * Validates one raw signalled event at the door (DESIGN §4, §13), before anything touches
 * PostgreSQL. Rejection reasons, stable and documented: {@code not_an_object}, {@code
 * missing_user_id}, {@code missing_event}, {@code reserved_event}, {@code reserved_key}, {@code
 * invalid_properties}, {@code invalid_field}, {@code invalid_text}, {@code field_too_long}, {@code
 * too_deep}, {@code payload_too_large}; {@code deleted} is decided later by the contact store and
 * {@code unprocessable} by poison isolation.
 *
 * <p>What it accepts PostgreSQL can store and index: no NUL or unpaired surrogate anywhere, ids
 * within the btree row limit, instants from 1970 to receipt plus a small clock skew (so no window
 * arithmetic or {@code expires_at} can leave PostgreSQL's range).
 */
public final class EventParser {

  public static final String RESERVED_PREFIX = "bucket:";
  public static final int MAX_USER_ID_BYTES = 256;
  public static final int MAX_KEY_BYTES = 256;
  public static final int MAX_EVENT_NAME_BYTES = 200;
  public static final int MAX_EMAIL_BYTES = 320;
  public static final int MAX_PROPERTY_KEY_BYTES = 200;
  public static final Duration DEFAULT_MAX_FUTURE_SKEW = Duration.ofMinutes(5);

  /** Payload text kept in a rejection row (the whole event: events are at most 32 KiB). */
  static final int KEPT_PAYLOAD_CHARS = 2 * EventShape.MAX_EVENT_BYTES;

  /** Either an accepted event or its rejection. */
  public sealed interface Parsed permits Accepted, Refused {}

  public record Accepted(IncomingEvent event) implements Parsed {}

  public record Refused(Rejection rejection) implements Parsed {}

  private final Duration maxFutureSkew;

  public EventParser(Duration maxFutureSkew) {
    if (maxFutureSkew.isNegative())
      throw new IllegalArgumentException("maxFutureSkew must not be negative");
    this.maxFutureSkew = maxFutureSkew;
  }

  public EventParser() {
    this(DEFAULT_MAX_FUTURE_SKEW);
  }

  public Parsed parse(PendingEvent pending) {
    if (pending.isRejected()) return new Refused(doorRejection(pending));
    JsonNode raw = pending.payload();
    if (!(raw instanceof ObjectNode node)) {
      return refuse("not_an_object", "event: must be a JSON object", null, null, raw);
    }
    String userId = text(node, "userId");
    String event = text(node, "event");
    Optional<EventShape.Refusal> shape = EventShape.check(node);
    if (shape.isPresent())
      return refuse(shape.get().reason(), shape.get().detail(), userId, event, raw);
    Optional<String> badText = firstUnstorableText(node);
    // The rejection row escapes what it stores, so even a bad userId is kept for the operator.
    if (badText.isPresent()) return refuse("invalid_text", badText.get(), userId, event, raw);
    Optional<Rejection> user = checkUserId(node, raw);
    if (user.isPresent()) return new Refused(user.get());
    JsonNode eventNode = node.get("event");
    if (eventNode != null && !eventNode.isNull() && !eventNode.isTextual()) {
      return refuse(
          "invalid_field", "event: must be a string, got " + kind(eventNode), userId, null, raw);
    }
    if (event == null || event.isBlank()) {
      return refuse("missing_event", "event: required non-empty string", userId, event, raw);
    }
    if (tooLong(event, MAX_EVENT_NAME_BYTES))
      return refuse("field_too_long", limit("event", MAX_EVENT_NAME_BYTES), userId, null, raw);
    if (event.startsWith(RESERVED_PREFIX)) {
      return refuse(
          "reserved_event",
          "event: names starting with '"
              + RESERVED_PREFIX
              + "' are reserved for bucket transitions",
          userId,
          event,
          raw);
    }
    JsonNode props = node.get("properties");
    if (props != null && !props.isNull() && !props.isObject()) {
      return refuse("invalid_properties", "properties: must be a JSON object", userId, event, raw);
    }
    for (String field : new String[] {"userEmail", "occurredAt", "idempotencyKey"}) {
      JsonNode v = node.get(field);
      if (v != null && !v.isNull() && !v.isTextual()) {
        return refuse(
            "invalid_field", field + ": must be a string, got " + kind(v), userId, event, raw);
      }
    }
    String email = text(node, "userEmail");
    if (email != null && tooLong(email, MAX_EMAIL_BYTES)) {
      return refuse("field_too_long", limit("userEmail", MAX_EMAIL_BYTES), userId, event, raw);
    }
    String key = text(node, "idempotencyKey");
    if (key != null) {
      if (key.isEmpty())
        return refuse("invalid_field", "idempotencyKey: must not be empty", userId, event, raw);
      if (tooLong(key, MAX_KEY_BYTES))
        return refuse("field_too_long", limit("idempotencyKey", MAX_KEY_BYTES), userId, event, raw);
      if (key.startsWith(RESERVED_PREFIX)) {
        return refuse(
            "reserved_key",
            "idempotencyKey: keys starting with '"
                + RESERVED_PREFIX
                + "' are reserved for bucket transitions",
            userId,
            event,
            raw);
      }
    }
    if (props instanceof ObjectNode o) {
      Optional<String> longKey = firstLongKey(o);
      if (longKey.isPresent()) return refuse("field_too_long", longKey.get(), userId, event, raw);
    }
    Instant received = Instant.ofEpochMilli(pending.receivedAtMillis());
    Instant occurred = received;
    String occurredText = text(node, "occurredAt");
    if (occurredText != null) {
      try {
        // PostgreSQL keeps microseconds; evaluating the unrounded value in memory would disagree.
        occurred = IsoInstants.parse(occurredText).truncatedTo(ChronoUnit.MICROS);
      } catch (DateTimeParseException e) {
        return refuse(
            "invalid_field",
            "occurredAt: not an ISO-8601 instant (e.g. 2026-11-26T10:00:00Z)",
            userId,
            event,
            raw);
      }
      if (occurred.isBefore(Instant.EPOCH)) {
        return refuse(
            "invalid_field", "occurredAt: before 1970-01-01T00:00:00Z", userId, event, raw);
      }
      if (occurred.isAfter(received.plus(maxFutureSkew))) {
        return refuse(
            "invalid_field",
            "occurredAt: more than "
                + maxFutureSkew
                + " after the time it was received ("
                + received
                + "); set BUCKETFLOW_MAX_FUTURE_SKEW to allow more clock skew",
            userId,
            event,
            raw);
      }
    }
    ObjectNode properties = props instanceof ObjectNode o ? o : Json.MAPPER.createObjectNode();
    return new Accepted(
        new IncomingEvent(userId, event, properties, email, occurred, received, key));
  }

  /**
   * The {@code userId} rule shared by events and contact operations: absent, null, empty or blank
   * is {@code missing_user_id}; present but not a string is {@code invalid_field}; over 256 UTF-8
   * bytes is {@code field_too_long}; NUL or unpaired surrogates are {@code invalid_text}.
   */
  static Optional<Rejection> checkUserId(JsonNode node, JsonNode raw) {
    JsonNode v = node == null ? null : node.get("userId");
    String event = text(node, "event");
    if (v != null && !v.isNull() && !v.isTextual()) {
      return Optional.of(
          rejection("invalid_field", "userId: must be a string, got " + kind(v), null, event, raw));
    }
    String userId = v == null || v.isNull() ? null : v.textValue();
    if (userId == null || userId.isBlank()) {
      return Optional.of(
          rejection("missing_user_id", "userId: required non-empty string", userId, event, raw));
    }
    String bad = StorableText.problem(userId);
    if (bad != null)
      return Optional.of(rejection("invalid_text", "userId: " + bad, null, event, raw));
    if (tooLong(userId, MAX_USER_ID_BYTES)) {
      return Optional.of(
          rejection("field_too_long", limit("userId", MAX_USER_ID_BYTES), null, event, raw));
    }
    return Optional.empty();
  }

  private static Rejection doorRejection(PendingEvent pending) {
    JsonNode r = pending.payload();
    return new Rejection(
        r.path("reason").asText("not_an_object"),
        r.path("detail").asText(""),
        nullableText(r, "userId"),
        nullableText(r, "event"),
        r.path("raw").asText(""));
  }

  /**
   * A check of one property key or text value found at {@code path}: the refusal's detail, or null.
   */
  private interface Check {
    String at(String path, String value);
  }

  /**
   * The first problem {@code onKey} or {@code onText} finds in the tree, walked iteratively (any
   * depth).
   */
  private static Optional<String> firstProblem(
      JsonNode root, String rootPath, Check onKey, Check onText) {
    record Item(JsonNode node, String path) {}
    ArrayDeque<Item> stack = new ArrayDeque<>();
    stack.push(new Item(root, rootPath));
    while (!stack.isEmpty()) {
      Item it = stack.pop();
      JsonNode n = it.node();
      if (n.isObject()) {
        for (Iterator<Map.Entry<String, JsonNode>> f = n.fields(); f.hasNext(); ) {
          Map.Entry<String, JsonNode> e = f.next();
          String path = it.path().isEmpty() ? e.getKey() : it.path() + "." + e.getKey();
          String detail = onKey.at(path, e.getKey());
          if (detail != null) return Optional.of(detail);
          stack.push(new Item(e.getValue(), path));
        }
      } else if (n.isArray()) {
        for (int i = 0; i < n.size(); i++)
          stack.push(new Item(n.get(i), it.path() + "[" + i + "]"));
      } else if (n.isTextual() && onText != null) {
        String detail = onText.at(it.path(), n.textValue());
        if (detail != null) return Optional.of(detail);
      }
    }
    return Optional.empty();
  }

  /** The first string (key or value, at any depth) PostgreSQL refuses, as "path: problem". */
  private static Optional<String> firstUnstorableText(ObjectNode root) {
    return firstProblem(
        root,
        "",
        (path, key) -> unstorable(path, key, "property key "),
        (path, text) -> unstorable(path, text, ""));
  }

  private static String unstorable(String path, String text, String what) {
    String bad = StorableText.problem(text);
    return bad == null ? null : StorableText.of(path, 200) + ": " + what + bad;
  }

  /** The first property key (any depth) over the key limit, as "path: problem". */
  private static Optional<String> firstLongKey(ObjectNode properties) {
    return firstProblem(
        properties,
        "properties",
        (path, key) ->
            tooLong(key, MAX_PROPERTY_KEY_BYTES)
                ? StorableText.of(path, 200)
                    + ": property key longer than "
                    + MAX_PROPERTY_KEY_BYTES
                    + " UTF-8 bytes"
                : null,
        null);
  }

  private static boolean tooLong(String s, int maxBytes) {
    // Cheap bound first: a char is at most 3 UTF-8 bytes (a pair is 4 for 2 chars).
    if (s.length() * 3L <= maxBytes) return false;
    return s.length() > maxBytes || s.getBytes(StandardCharsets.UTF_8).length > maxBytes;
  }

  private static String limit(String field, int bytes) {
    return field + ": longer than " + bytes + " UTF-8 bytes";
  }

  private static String kind(JsonNode v) {
    return v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node == null ? null : node.get(field);
    return v != null && v.isTextual() ? v.asText() : null;
  }

  private static String nullableText(JsonNode node, String field) {
    JsonNode v = node.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static Refused refuse(
      String reason, String detail, String userId, String event, JsonNode raw) {
    return new Refused(rejection(reason, detail, userId, event, raw));
  }

  static Rejection rejection(
      String reason, String detail, String userId, String event, JsonNode raw) {
    return new Rejection(reason, detail, userId, event, EventShape.render(raw, KEPT_PAYLOAD_CHARS));
  }
}
