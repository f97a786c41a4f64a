package dev.bucketflow.bucket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.math.BigInteger;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A condition on the user's merged properties, e.g. {@code plan eq "trial"}.
 *
 * @param value the operand; {@code null} (Java null) for {@code exists}/{@code not_exists}. A JSON
 *     {@code null} operand is a {@code NullNode}, which is different.
 */
public record PropertyCriterion(String property, PropertyOperator operator, JsonNode value)
    implements Criterion {

  public PropertyCriterion {
    Objects.requireNonNull(property, "property");
    Objects.requireNonNull(operator, "operator");
    value = operator.dateRelative() ? canonicalDuration(value) : canonical(value);
  }

  /**
   * The duration operand of a date-relative operator; empty when the operator is not one or the
   * operand is not a valid duration (validation reports it; both engines then answer false).
   */
  public Optional<Duration> duration() {
    if (!operator.dateRelative() || value == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Durations.parse(value));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /**
   * A valid duration operand is stored as its ISO-8601 text, so {@code {"days":3}} and {@code
   * "P3D"} make equal records (and equal fingerprints); anything else is kept as written.
   */
  private static JsonNode canonicalDuration(JsonNode value) {
    if (value == null) {
      return null;
    }
    try {
      return JsonNodeFactory.instance.textNode(Durations.parse(value).toString());
    } catch (IllegalArgumentException e) {
      return canonical(value);
    }
  }

  /**
   * Integral numbers are stored in their smallest Jackson node type, because Jackson's node
   * equality is type-sensitive ({@code IntNode(3) != LongNode(3)}) and a builder-made definition
   * must equal the one parsed from JSON. Containers are copied so the record stays a value.
   */
  private static JsonNode canonical(JsonNode value) {
    if (value == null) {
      return null;
    }
    if (value.isIntegralNumber()) {
      BigInteger big = value.bigIntegerValue();
      if (big.bitLength() < 32) {
        return JsonNodeFactory.instance.numberNode(big.intValue());
      }
      if (big.bitLength() < 64) {
        return JsonNodeFactory.instance.numberNode(big.longValue());
      }
      return JsonNodeFactory.instance.numberNode(big);
    }
    if (value.isFloat()) {
      return JsonNodeFactory.instance.numberNode(value.doubleValue());
    }
    return value.isContainerNode() ? value.deepCopy() : value;
  }
}
