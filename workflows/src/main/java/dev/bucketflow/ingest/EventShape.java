package dev.bucketflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

/**
 * The shape checks a signalled event must pass before it is buffered: serialized size, nesting
 * depth and finite numbers. They run in the signal handler, so an event that could break the
 * serialization of an activity input (Jackson's nesting limit), blow the byte budget, or change
 * meaning on the way (an infinite double is written as the string "Infinity") never travels inside
 * a batch; it travels as its (small) rejection instead.
 *
 * <p>The walk is iterative (no recursion however deep the input) and stops at the first problem.
 * Sizes are an upper bound of the compact JSON Jackson writes, so a budget computed from them holds
 * for the real payload.
 */
public final class EventShape {

  /** Largest accepted event, as serialized JSON (DESIGN §4). */
  public static final int MAX_EVENT_BYTES = 32 * 1024;

  /** Deepest accepted nesting inside {@code properties} ({@code properties} itself is level 1). */
  public static final int MAX_PROPERTIES_DEPTH = 32;

  /** Why an event is refused at the door: a stable reason and a detail naming the field. */
  public record Refusal(String reason, String detail) {}

  /** The first shape problem of a signalled event, if any. */
  public static Optional<Refusal> check(JsonNode event) {
    if (event == null) return Optional.empty(); // not_an_object, decided by the parser
    if (event.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = event.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> f = it.next();
        int allowed =
            "properties".equals(f.getKey()) ? MAX_PROPERTIES_DEPTH : MAX_PROPERTIES_DEPTH - 1;
        Optional<Refusal> r = depthAndNumbers(f.getValue(), f.getKey(), allowed);
        if (r.isPresent()) return r;
      }
    } else {
      Optional<Refusal> r = depthAndNumbers(event, "event", MAX_PROPERTIES_DEPTH);
      if (r.isPresent()) return r;
    }
    long bytes = jsonBytes(event, MAX_EVENT_BYTES + 1L);
    if (bytes > MAX_EVENT_BYTES) {
      return Optional.of(
          new Refusal(
              "payload_too_large", "event: larger than " + MAX_EVENT_BYTES + " bytes of JSON"));
    }
    return Optional.empty();
  }

  private record Frame(JsonNode node, int depth) {}

  private static Optional<Refusal> depthAndNumbers(JsonNode root, String field, int maxDepth) {
    ArrayDeque<Frame> stack = new ArrayDeque<>();
    stack.push(new Frame(root, 1));
    while (!stack.isEmpty()) {
      Frame f = stack.pop();
      JsonNode n = f.node();
      if (n.isContainerNode()) {
        if (f.depth() > maxDepth) {
          return Optional.of(
              new Refusal(
                  "too_deep", field + ": nested deeper than " + MAX_PROPERTIES_DEPTH + " levels"));
        }
        for (JsonNode child : n) stack.push(new Frame(child, f.depth() + 1));
      } else if (n.isFloatingPointNumber()
          && !Double.isFinite(n.doubleValue())
          && !n.isBigDecimal()) {
        return Optional.of(
            new Refusal("invalid_field", field + ": number out of range (not a finite double)"));
      }
    }
    return Optional.empty();
  }

  /**
   * An upper bound of the compact JSON size of {@code node} in UTF-8 bytes, counted up to {@code
   * stopAt} (the walk ends once the bound passes it).
   */
  public static long jsonBytes(JsonNode node, long stopAt) {
    if (node == null) return 4;
    long total = 0;
    ArrayDeque<JsonNode> stack = new ArrayDeque<>();
    stack.push(node);
    while (!stack.isEmpty() && total <= stopAt) {
      JsonNode n = stack.pop();
      if (n.isObject()) {
        total += 2;
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          total += textBytes(e.getKey(), stopAt) + 2; // key, colon, comma
          stack.push(e.getValue());
        }
      } else if (n.isArray()) {
        total += 2 + n.size();
        for (JsonNode child : n) stack.push(child);
      } else if (n.isTextual()) {
        total += textBytes(n.textValue(), stopAt);
      } else {
        total += n.asText().length() + 2;
      }
    }
    return total;
  }

  /** Quoted, escaped UTF-8 length, as an upper bound; counting stops past {@code stopAt}. */
  static long textBytes(String s, long stopAt) {
    long b = 2;
    for (int i = 0; i < s.length() && b <= stopAt; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == '"' || c == '\\') b += 6;
      else if (c < 0x80) b += 1;
      else if (c < 0x800) b += 2;
      else if (Character.isSurrogate(c))
        b += 6; // a pair is 4 bytes for 2 chars; a lone one escaped
      else b += 3;
    }
    return b;
  }

  /**
   * Compact JSON of {@code node}, cut after about {@code maxChars} characters, written iteratively
   * (however deep), with what PostgreSQL cannot store escaped.
   */
  public static String render(JsonNode node, int maxChars) {
    StringBuilder out = new StringBuilder();
    ArrayDeque<Object> stack = new ArrayDeque<>(); // JsonNode to write, or String to append
    stack.push(node == null ? "null" : node);
    while (!stack.isEmpty() && out.length() <= maxChars) {
      Object top = stack.pop();
      if (top instanceof String literal) {
        out.append(literal);
        continue;
      }
      JsonNode n = (JsonNode) top;
      if (n.isObject()) {
        out.append('{');
        stack.push("}");
        java.util.List<Map.Entry<String, JsonNode>> fields = new java.util.ArrayList<>();
        n.fields().forEachRemaining(fields::add);
        for (int i = fields.size() - 1; i >= 0; i--) {
          stack.push(fields.get(i).getValue());
          stack.push(quote(fields.get(i).getKey(), maxChars) + ":");
          if (i > 0) stack.push(",");
        }
      } else if (n.isArray()) {
        out.append('[');
        stack.push("]");
        for (int i = n.size() - 1; i >= 0; i--) {
          stack.push(n.get(i));
          if (i > 0) stack.push(",");
        }
      } else if (n.isTextual()) {
        out.append(quote(n.textValue(), maxChars - out.length() + 1));
      } else {
        out.append(n.asText());
      }
    }
    String s = StorableText.of(out.toString(), Integer.MAX_VALUE);
    return s.length() <= maxChars && stack.isEmpty() ? s : StorableText.cut(s, maxChars) + "…(cut)";
  }

  /**
   * JSON string literal of at most the first {@code limit} chars of {@code s} (cheap on huge
   * values).
   */
  private static String quote(String s, int limit) {
    int n = Math.min(s.length(), Math.max(0, limit));
    StringBuilder b = new StringBuilder(n + 2).append('"');
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.append('"').toString();
  }

  private EventShape() {}
}
