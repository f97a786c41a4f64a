package dev.bucketflow.bucket;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Optional;
import java.util.function.IntPredicate;

/**
 * In-memory criteria semantics (DESIGN §6); the criteria→SQL compiler must agree with it exactly.
 *
 * <ul>
 *   <li>{@code eq}: numbers compare numerically (3 = 3.0, also inside arrays/objects); otherwise
 *       type-strict JSON equality ("3" ≠ 3, true ≠ "true", JSON null equals only JSON null). A
 *       missing property equals nothing. {@code neq} is exactly {@code !eq}, so it holds for a
 *       missing property.
 *   <li>{@code gt gte lt lte}: both sides numbers, else false.
 *   <li>{@code exists}: present and not JSON null; {@code not_exists} is its negation.
 *   <li>{@code contains}: both strings and substring, else false.
 *   <li>Event legs count occurrences with {@code occurredAt > now - within} (no upper bound) or all
 *       time; {@code exists} = count &gt; 0, {@code not_exists} = count = 0, {@code count} compares
 *       with the operator, or means count &gt; 0 without one.
 *   <li>{@code in}: the value is an array and the property {@code eq}s one of its elements (so a
 *       missing property is in nothing); {@code not_in} is exactly {@code !in} — true for a missing
 *       property, like {@code neq}. A non-array operand: {@code in} false, {@code not_in} true.
 *   <li>Date-relative, with {@code t} the property read by {@link PropertyInstants} and {@code d}
 *       the duration: {@code within_next} {@code now ≤ t ≤ now + d}; {@code within_last} {@code now
 *       − d ≤ t ≤ now}; {@code more_than_ago} {@code t < now − d}; {@code more_than_ahead} {@code t
 *       > now + d}. No instant, or no valid duration: false.
 *   <li>Bucket conditions: {@code member} while the user's active row in that bucket exists (as
 *       loaded into the {@link UserState}), {@code not_member} its negation.
 *   <li>Empty composites: AND is true, OR is false (validation forbids them anyway).
 * </ul>
 */
public final class Evaluator {
  /** Jackson node comparator: 0 when numerically equal numbers, else structural equality. */
  private static final Comparator<JsonNode> NUMERIC_AWARE =
      (a, b) -> {
        if (a.isNumber() && b.isNumber()) {
          return a.decimalValue().compareTo(b.decimalValue());
        }
        return a.equals(b) ? 0 : 1;
      };

  private Evaluator() {}

  public static boolean matches(Criterion criterion, UserState state, Instant now) {
    if (criterion instanceof PropertyCriterion p) {
      return property(p, state.property(p.property()), now);
    }
    if (criterion instanceof EventCriterion e) {
      return event(e, count(e, state, now));
    }
    if (criterion instanceof BucketCriterion b) {
      return b.holdsFor(state.isMember(b.bucketId()));
    }
    CompositeCriterion c = (CompositeCriterion) criterion;
    return c.operator() == Logic.AND
        ? c.conditions().stream().allMatch(child -> matches(child, state, now))
        : c.conditions().stream().anyMatch(child -> matches(child, state, now));
  }

  /** Occurrences of the leg's event inside its window (or all time). */
  static long count(EventCriterion e, UserState state, Instant now) {
    EventSeries series = state.events(e.eventName());
    return series.countSince(e.within() == null ? null : now.minus(e.within()));
  }

  private static boolean event(EventCriterion e, long count) {
    return switch (e.check()) {
      case EXISTS -> count > 0;
      case NOT_EXISTS -> count == 0;
      case COUNT -> {
        if (e.operator() == null) {
          yield count > 0;
        }
        if (e.value() == null) {
          throw new IllegalStateException(
              "count "
                  + e.operator().json()
                  + " of "
                  + e.eventName()
                  + " has no value; validate definitions before evaluating");
        }
        yield e.operator().test(count, e.value());
      }
    };
  }

  /**
   * @param actual the user's value, Java null when the property is absent
   */
  static boolean property(PropertyCriterion p, JsonNode actual, Instant now) {
    JsonNode expected = p.value();
    return switch (p.operator()) {
      case EQ -> jsonEquals(actual, expected);
      case NEQ -> !jsonEquals(actual, expected);
      case GT -> ordered(actual, expected, sign -> sign > 0);
      case GTE -> ordered(actual, expected, sign -> sign >= 0);
      case LT -> ordered(actual, expected, sign -> sign < 0);
      case LTE -> ordered(actual, expected, sign -> sign <= 0);
      case EXISTS -> exists(actual);
      case NOT_EXISTS -> !exists(actual);
      case CONTAINS ->
          actual != null
              && expected != null
              && actual.isTextual()
              && expected.isTextual()
              && actual.textValue().contains(expected.textValue());
      case IN -> in(actual, expected);
      case NOT_IN -> !in(actual, expected);
      case WITHIN_NEXT, WITHIN_LAST, MORE_THAN_AGO, MORE_THAN_AHEAD -> dateRelative(p, actual, now);
    };
  }

  private static boolean in(JsonNode actual, JsonNode expected) {
    if (expected == null || !expected.isArray()) {
      return false;
    }
    for (JsonNode element : expected) {
      if (jsonEquals(actual, element)) {
        return true;
      }
    }
    return false;
  }

  private static boolean dateRelative(PropertyCriterion p, JsonNode actual, Instant now) {
    Optional<Duration> d = p.duration();
    Optional<Instant> t = PropertyInstants.read(actual);
    if (d.isEmpty() || t.isEmpty()) {
      return false;
    }
    Instant at = t.get();
    return switch (p.operator()) {
      case WITHIN_NEXT -> !at.isBefore(now) && !at.isAfter(now.plus(d.get()));
      case WITHIN_LAST -> !at.isBefore(now.minus(d.get())) && !at.isAfter(now);
      case MORE_THAN_AGO -> at.isBefore(now.minus(d.get()));
      case MORE_THAN_AHEAD -> at.isAfter(now.plus(d.get()));
      default -> throw new IllegalArgumentException(p.operator().json() + " is not date-relative");
    };
  }

  private static boolean exists(JsonNode actual) {
    return actual != null && !actual.isNull() && !actual.isMissingNode();
  }

  static boolean jsonEquals(JsonNode actual, JsonNode expected) {
    if (actual == null || actual.isMissingNode() || expected == null) {
      return false;
    }
    return actual.equals(NUMERIC_AWARE, expected);
  }

  /** Both numbers and {@code test} holds for the sign of {@code actual - expected}; else false. */
  private static boolean ordered(JsonNode actual, JsonNode expected, IntPredicate test) {
    return actual != null
        && expected != null
        && actual.isNumber()
        && expected.isNumber()
        && test.test(actual.decimalValue().compareTo(expected.decimalValue()));
  }
}
