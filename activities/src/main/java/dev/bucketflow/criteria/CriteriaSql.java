package dev.bucketflow.criteria;

import static dev.bucketflow.schema.Tables.USER_EVENTS;

import dev.bucketflow.bucket.CompositeCriterion;
import dev.bucketflow.bucket.Criterion;
import dev.bucketflow.bucket.EventCheck;
import dev.bucketflow.bucket.EventCriterion;
import dev.bucketflow.bucket.Logic;
import dev.bucketflow.bucket.PropertyCriterion;
import dev.bucketflow.bucket.CountOperator;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.jooq.Condition;
import org.jooq.Field;
import org.jooq.JSONB;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * Compiles a criteria tree into a SQL predicate over one contact row with exactly the in-memory
 * {@link dev.bucketflow.bucket.Evaluator}'s semantics (held equal by a differential test).
 *
 * <ul>
 *   <li>Properties read {@code contacts.properties}; {@code eq} is jsonb equality, which is
 *       type-strict and numeric for numbers (3 = 3.0), like the evaluator; a missing key makes
 *       {@code eq} false and {@code neq} true.
 *   <li>Ordering operators guard on {@code jsonb_typeof = 'number'} inside a CASE, so a string
 *       is never cast.
 *   <li>Windows are relative to the instant passed in, never the database's {@code now()}.
 *       Counts scan at most {@code N+1} rows through the {@code (user_id, event, occurred_at)}
 *       index: the comparison only needs to know whether the count passes N.
 * </ul>
 */
public final class CriteriaSql {

  private CriteriaSql() {}

  /**
   * @param userId the contact's id column (correlates event subqueries)
   * @param properties the contact's properties column
   */
  public static Condition predicate(Criterion criterion, Field<String> userId, Field<JSONB> properties, Instant now) {
    if (criterion instanceof PropertyCriterion p) return property(p, properties);
    if (criterion instanceof EventCriterion e) return event(e, userId, now);
    CompositeCriterion c = (CompositeCriterion) criterion;
    List<Condition> legs = c.conditions().stream().map(x -> predicate(x, userId, properties, now)).toList();
    return c.operator() == Logic.AND ? DSL.and(legs) : DSL.or(legs);
  }

  private static Condition property(PropertyCriterion p, Field<JSONB> properties) {
    Field<JSONB> actual = DSL.field("({0} -> {1})", SQLDataType.JSONB, properties, DSL.inline(p.property()));
    Field<String> type = DSL.field("jsonb_typeof({0})", SQLDataType.VARCHAR, actual);
    Field<String> text = DSL.field("({0} ->> {1})", SQLDataType.VARCHAR, properties, DSL.inline(p.property()));
    return switch (p.operator()) {
      case EQ -> equalsValue(actual, p);
      case NEQ -> DSL.not(equalsValue(actual, p));
      case GT, GTE, LT, LTE -> ordered(p, type, text);
      case EXISTS -> DSL.coalesce(type.ne("null"), DSL.inline(false)).isTrue();
      case NOT_EXISTS -> DSL.not(DSL.coalesce(type.ne("null"), DSL.inline(false)).isTrue());
      case CONTAINS -> p.value() != null && p.value().isTextual() && p.value().asText().indexOf('\0') < 0
          ? DSL.condition("(case when {0} = 'string' then strpos({1}, {2}) > 0 else false end)",
              type, text, DSL.val(p.value().asText()))
          : DSL.falseCondition();
    };
  }

  /** jsonb equality, false (not NULL) when the key is missing. */
  private static Condition equalsValue(Field<JSONB> actual, PropertyCriterion p) {
    // jsonb cannot hold a NUL character, so no stored value equals one (and PostgreSQL rejects it).
    if (p.value() == null || p.value().toString().contains("\\u0000")) return DSL.falseCondition();
    return DSL.condition("coalesce({0} = {1}::jsonb, false)", actual, DSL.val(p.value().toString()));
  }

  private static Condition ordered(PropertyCriterion p, Field<String> type, Field<String> text) {
    if (p.value() == null || !p.value().isNumber()) return DSL.falseCondition();
    String op = switch (p.operator()) {
      case GT -> ">";
      case GTE -> ">=";
      case LT -> "<";
      default -> "<=";
    };
    return DSL.condition("(case when {0} = 'number' then ({1})::numeric " + op + " {2} else false end)",
        type, text, DSL.val(p.value().decimalValue()));
  }

  private static Condition event(EventCriterion e, Field<String> userId, Instant now) {
    var ev = USER_EVENTS.as("ev");
    Condition match = ev.USER_ID.eq(userId).and(ev.EVENT.eq(e.eventName()));
    // occurred_at holds microseconds: "after x" equals "after x rounded down to the microsecond",
    // while letting the driver round x up would drop an event just inside the window.
    if (e.within() != null) match = match.and(ev.OCCURRED_AT.gt(now.minus(e.within()).truncatedTo(ChronoUnit.MICROS)));
    if (e.check() == EventCheck.EXISTS || (e.check() == EventCheck.COUNT && e.operator() == null)) {
      return DSL.exists(DSL.selectOne().from(ev).where(match));
    }
    if (e.check() == EventCheck.NOT_EXISTS) return DSL.notExists(DSL.selectOne().from(ev).where(match));
    long n = e.value();
    if (n < 0) {
      // A count is never negative: decided without a query (LIMIT would reject n+1 <= 0).
      return e.operator() == CountOperator.GT || e.operator() == CountOperator.GTE
          ? DSL.trueCondition() : DSL.falseCondition();
    }
    // Enough rows to decide the comparison: at most n+1.
    long limit = n == Long.MAX_VALUE ? n : n + 1;
    Field<Long> bounded = DSL.field(DSL.select(DSL.count().cast(SQLDataType.BIGINT))
        .from(DSL.selectOne().from(ev).where(match).limit(limit)));
    return switch (e.operator()) {
      case GT -> bounded.gt(n);
      case GTE -> bounded.ge(n);
      case LT -> bounded.lt(n);
      case LTE -> bounded.le(n);
      case EQ -> bounded.eq(n);
    };
  }

}
