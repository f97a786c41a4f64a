package dev.bucketflow.bucket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Fluent construction of criteria trees in Java, producing exactly the records the JSON parser
 * produces:
 *
 * <pre>{@code
 * all(prop("plan").eq("trial"), prop("trial_days_left").lte(3), prop("converted").neq(true))
 * event("key_action").within(Durations.days(30)).atLeast(10)
 * }</pre>
 */
public final class Criteria {
  // Plain mapper only for converting Java values (String, Number, Boolean, Map, List) to nodes.
  private static final ObjectMapper VALUES = new ObjectMapper();

  private Criteria() {}

  public static CompositeCriterion all(Criterion... conditions) {
    return new CompositeCriterion(Logic.AND, List.of(conditions));
  }

  public static CompositeCriterion any(Criterion... conditions) {
    return new CompositeCriterion(Logic.OR, List.of(conditions));
  }

  public static PropertyBuilder prop(String property) {
    return new PropertyBuilder(property);
  }

  public static EventBuilder event(String eventName) {
    return new EventBuilder(eventName, null);
  }

  /** Java value to JSON node; a Java {@code null} becomes JSON {@code null}. */
  static JsonNode toNode(Object value) {
    if (value == null) {
      return JsonNodeFactory.instance.nullNode();
    }
    if (value instanceof JsonNode node) {
      return node;
    }
    return VALUES.valueToTree(value);
  }

  /** Terminal operations for a property condition. */
  public static final class PropertyBuilder {
    private final String property;

    private PropertyBuilder(String property) {
      this.property = Objects.requireNonNull(property, "property");
    }

    public PropertyCriterion eq(Object value) {
      return of(PropertyOperator.EQ, toNode(value));
    }

    public PropertyCriterion neq(Object value) {
      return of(PropertyOperator.NEQ, toNode(value));
    }

    public PropertyCriterion gt(Number value) {
      return of(PropertyOperator.GT, toNode(value));
    }

    public PropertyCriterion gte(Number value) {
      return of(PropertyOperator.GTE, toNode(value));
    }

    public PropertyCriterion lt(Number value) {
      return of(PropertyOperator.LT, toNode(value));
    }

    public PropertyCriterion lte(Number value) {
      return of(PropertyOperator.LTE, toNode(value));
    }

    public PropertyCriterion exists() {
      return of(PropertyOperator.EXISTS, null);
    }

    public PropertyCriterion notExists() {
      return of(PropertyOperator.NOT_EXISTS, null);
    }

    public PropertyCriterion contains(String substring) {
      return of(PropertyOperator.CONTAINS, toNode(substring));
    }

    /** {@code in}: equals one of the values (each converted like {@link #eq}). */
    public PropertyCriterion in(Object... values) {
      return of(PropertyOperator.IN, toNode(java.util.Arrays.asList(values)));
    }

    public PropertyCriterion notIn(Object... values) {
      return of(PropertyOperator.NOT_IN, toNode(java.util.Arrays.asList(values)));
    }

    public PropertyCriterion withinNext(Duration d) {
      return of(PropertyOperator.WITHIN_NEXT, toNode(d.toString()));
    }

    public PropertyCriterion withinLast(Duration d) {
      return of(PropertyOperator.WITHIN_LAST, toNode(d.toString()));
    }

    public PropertyCriterion moreThanAgo(Duration d) {
      return of(PropertyOperator.MORE_THAN_AGO, toNode(d.toString()));
    }

    public PropertyCriterion moreThanAhead(Duration d) {
      return of(PropertyOperator.MORE_THAN_AHEAD, toNode(d.toString()));
    }

    private PropertyCriterion of(PropertyOperator op, JsonNode value) {
      return new PropertyCriterion(property, op, value);
    }
  }

  /** Optional window, then a terminal check. Immutable: {@code within} returns a new builder. */
  public static final class EventBuilder {
    private final String eventName;
    private final Duration within;

    private EventBuilder(String eventName, Duration within) {
      this.eventName = Objects.requireNonNull(eventName, "eventName");
      this.within = within;
    }

    /** Rolling window; without it the check looks at all time. */
    public EventBuilder within(Duration window) {
      return new EventBuilder(eventName, window);
    }

    public EventCriterion exists() {
      return of(EventCheck.EXISTS, null, null);
    }

    public EventCriterion notExists() {
      return of(EventCheck.NOT_EXISTS, null, null);
    }

    /** A count with no operator: satisfied when count > 0. */
    public EventCriterion count() {
      return of(EventCheck.COUNT, null, null);
    }

    public EventCriterion count(CountOperator operator, long value) {
      return of(EventCheck.COUNT, Objects.requireNonNull(operator, "operator"), value);
    }

    /** {@code count >= n}. */
    public EventCriterion atLeast(long n) {
      return count(CountOperator.GTE, n);
    }

    private EventCriterion of(EventCheck check, CountOperator op, Long value) {
      return new EventCriterion(eventName, check, op, value, within);
    }
  }
}
