package dev.bucketflow.bucket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Typed field access over one JSON object of a definition file (buckets, journeys) that records a
 * {@link Problem} at {@code path.field} instead of throwing, so a file reports every mistake at
 * once. Absent and JSON null both mean "not set".
 */
public final class FieldReader {

  private final JsonNode node;
  private final String path;
  private final List<Problem> problems;

  public FieldReader(JsonNode node, String path, List<Problem> problems) {
    this.node = node;
    this.path = path;
    this.problems = problems;
  }

  public boolean present(String field) {
    JsonNode v = node.get(field);
    return v != null && !v.isNull();
  }

  public void unknownFields(Set<String> known) {
    Iterator<String> names = node.fieldNames();
    while (names.hasNext()) {
      String f = names.next();
      if (!known.contains(f)) problem(f, "unknown field");
    }
  }

  public String string(String field) {
    if (!present(field)) return null;
    JsonNode v = node.get(field);
    if (!v.isTextual()) {
      problem(field, "must be a string, got " + v);
      return null;
    }
    return v.textValue();
  }

  public String requiredString(String field) {
    if (!present(field)) {
      problem(field, "is required");
      return null;
    }
    String s = string(field);
    if (s != null && s.isEmpty()) problem(field, "must not be empty");
    return s;
  }

  /** An array of strings; each bad item is its own problem at {@code field[i]}. */
  public List<String> stringList(String field, String what) {
    if (!present(field)) return List.of();
    JsonNode v = node.get(field);
    if (!v.isArray()) {
      problem(field, "must be an array of " + what + ", got " + v);
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      JsonNode item = v.get(i);
      if (item.isTextual()) {
        out.add(item.textValue());
      } else {
        problem(field + "[" + i + "]", "must be a string, got " + item);
      }
    }
    return out;
  }

  public Boolean bool(String field) {
    if (!present(field)) return null;
    JsonNode v = node.get(field);
    if (!v.isBoolean()) {
      problem(field, "must be true or false");
      return null;
    }
    return v.booleanValue();
  }

  public Long integer(String field) {
    if (!present(field)) return null;
    JsonNode v = node.get(field);
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      problem(field, "must be an integer, got " + v);
      return null;
    }
    return v.longValue();
  }

  public Duration duration(String field) {
    if (!present(field)) return null;
    try {
      return Durations.parse(node.get(field));
    } catch (IllegalArgumentException e) {
      problem(field, e.getMessage());
      return null;
    }
  }

  public ObjectNode object(String field) {
    if (!present(field)) return null;
    JsonNode v = node.get(field);
    if (!v.isObject()) {
      problem(field, "must be an object, got " + v);
      return null;
    }
    return (ObjectNode) v;
  }

  public <E extends Enum<E>> E enumValue(
      String field, Function<String, Optional<E>> lookup, E[] values) {
    if (!present(field)) return null;
    JsonNode v = node.get(field);
    Optional<E> e = v.isTextual() ? lookup.apply(v.textValue()) : Optional.empty();
    if (e.isEmpty()) {
      problem(
          field, "unknown " + field + " " + v + " (expected " + JsonNames.expected(values) + ")");
      return null;
    }
    return e.get();
  }

  public <E extends Enum<E>> E requiredEnum(
      String field, Function<String, Optional<E>> lookup, E[] values) {
    if (!present(field)) {
      problem(field, "is required (" + JsonNames.expected(values) + ")");
      return null;
    }
    return enumValue(field, lookup, values);
  }

  private void problem(String field, String message) {
    problems.add(new Problem(path + "." + field, message));
  }
}
