package dev.bucketflow.criteria;

import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static dev.bucketflow.schema.Tables.USER_EVENT_ROLLUPS;

import dev.bucketflow.bucket.CompositeCriterion;
import dev.bucketflow.bucket.CountOperator;
import dev.bucketflow.bucket.Criterion;
import dev.bucketflow.bucket.EventCheck;
import dev.bucketflow.bucket.EventCriterion;
import dev.bucketflow.bucket.Logic;
import dev.bucketflow.bucket.PropertyCriterion;
import dev.bucketflow.bucket.PropertyInstants;
import dev.bucketflow.bucket.PropertyOperator;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
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
 *   <li>Ordering operators guard on {@code jsonb_typeof = 'number'} inside a CASE, so a string is
 *       never cast.
 *   <li>{@code in} is an OR of {@code eq}s, {@code not_in} its negation (true on a missing key).
 *   <li>Date-relative operators read the property as {@link PropertyInstants} does (epoch-ms
 *       numbers, one strict ISO-8601 string form) and compare with bounds computed from the instant
 *       passed in.
 *   <li>Windows are relative to the instant passed in, never the database's {@code now()}. Counts
 *       scan at most {@code N+1} rows through the {@code (user_id, event, occurred_at)} index: the
 *       comparison only needs to know whether the count passes N.
 * </ul>
 */
public final class CriteriaSql {

  private CriteriaSql() {}

  /**
   * @param userId the contact's id column (correlates event subqueries)
   * @param properties the contact's properties column
   */
  public static Condition predicate(
      Criterion criterion, Field<String> userId, Field<JSONB> properties, Instant now) {
    if (criterion instanceof PropertyCriterion p) return property(p, properties, now);
    if (criterion instanceof EventCriterion e) return event(e, userId, now);
    if (criterion instanceof dev.bucketflow.bucket.BucketCriterion b) return membership(b, userId);
    CompositeCriterion c = (CompositeCriterion) criterion;
    List<Condition> legs =
        c.conditions().stream().map(x -> predicate(x, userId, properties, now)).toList();
    return c.operator() == Logic.AND ? DSL.and(legs) : DSL.or(legs);
  }

  /**
   * Active membership of the named bucket, as the statement sees it: a dependency's join or leave
   * written earlier in the same transaction counts (the partial unique index {@code
   * bucket_memberships_one_active} answers the probe).
   */
  private static Condition membership(
      dev.bucketflow.bucket.BucketCriterion b, Field<String> userId) {
    var m =
        dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS.as("dep_" + b.bucketId().replace('-', '_'));
    Condition member =
        DSL.exists(
            DSL.selectOne()
                .from(m)
                .where(
                    m.USER_ID
                        .eq(userId)
                        .and(m.BUCKET_ID.eq(b.bucketId()))
                        .and(m.STATUS.eq(dev.bucketflow.bucket.MembershipStatus.ACTIVE))
                        .and(m.DELETED_AT.isNull())));
    return b.check() == dev.bucketflow.bucket.MembershipCheck.MEMBER ? member : DSL.not(member);
  }

  private static Condition property(PropertyCriterion p, Field<JSONB> properties, Instant now) {
    Field<JSONB> actual =
        DSL.field("({0} -> {1})", SQLDataType.JSONB, properties, DSL.inline(p.property()));
    Field<String> type = DSL.field("jsonb_typeof({0})", SQLDataType.VARCHAR, actual);
    Field<String> text =
        DSL.field("({0} ->> {1})", SQLDataType.VARCHAR, properties, DSL.inline(p.property()));
    return switch (p.operator()) {
      case EQ -> equalsValue(actual, p);
      case NEQ -> DSL.not(equalsValue(actual, p));
      case GT, GTE, LT, LTE -> ordered(p, type, text);
      case EXISTS -> DSL.coalesce(type.ne("null"), DSL.inline(false)).isTrue();
      case NOT_EXISTS -> DSL.not(DSL.coalesce(type.ne("null"), DSL.inline(false)).isTrue());
      case CONTAINS ->
          p.value() != null && p.value().isTextual() && p.value().asText().indexOf('\0') < 0
              ? DSL.condition(
                  "(case when {0} = 'string' then strpos({1}, {2}) > 0 else false end)",
                  type, text, DSL.val(p.value().asText()))
              : DSL.falseCondition();
      case IN -> in(actual, p);
      case NOT_IN -> DSL.not(in(actual, p));
      case WITHIN_NEXT, WITHIN_LAST, MORE_THAN_AGO, MORE_THAN_AHEAD ->
          dateRelative(p, type, text, now);
    };
  }

  /**
   * eq against any element; false for a non-array operand or an empty array (DSL.or() renders
   * FALSE).
   */
  private static Condition in(Field<JSONB> actual, PropertyCriterion p) {
    if (p.value() == null || !p.value().isArray()) return DSL.falseCondition();
    List<Condition> any = new java.util.ArrayList<>();
    p.value()
        .forEach(
            element ->
                any.add(
                    equalsValue(
                        actual,
                        new PropertyCriterion(p.property(), PropertyOperator.EQ, element))));
    return DSL.or(any);
  }

  /**
   * The property read as {@link PropertyInstants} reads it, compared with bounds computed here.
   * Numbers are compared as epoch milliseconds, strings as timestamptz (microseconds), each against
   * a bound rounded to that unit the way the comparison needs (for an integer t: t ≥ x ⇔ t ≥
   * ceil(x), t ≤ x ⇔ t ≤ floor(x), and likewise for the strict ones), so a sub-unit {@code now}
   * changes nothing. Every cast sits in a CASE branch reached only by text the pattern and the
   * calendar check accept, so no stored value can make the query fail.
   */
  private static Condition dateRelative(
      PropertyCriterion p, Field<String> type, Field<String> text, Instant now) {
    Optional<Duration> d = p.duration();
    if (d.isEmpty()) return DSL.falseCondition();
    Instant lo = null;
    Instant hi = null;
    boolean loStrict = false;
    boolean hiStrict = false;
    switch (p.operator()) {
      case WITHIN_NEXT -> {
        lo = now;
        hi = now.plus(d.get());
      }
      case WITHIN_LAST -> {
        lo = now.minus(d.get());
        hi = now;
      }
      case MORE_THAN_AGO -> {
        hi = now.minus(d.get());
        hiStrict = true;
      }
      default -> {
        lo = now.plus(d.get());
        loStrict = true;
      }
    }
    Field<java.math.BigDecimal> millis =
        DSL.field(
            "(case when {0} = 'number' then (case when ({1})::numeric = trunc(({1})::numeric) and ({1})::numeric between {2} and {3}"
                + " then ({1})::numeric end) end)",
            SQLDataType.NUMERIC,
            type,
            text,
            DSL.inline(PropertyInstants.MIN_MILLIS),
            DSL.inline(PropertyInstants.MAX_MILLIS));
    // The day-of-month check runs only on text the pattern accepted (so the casts cannot fail);
    // the fraction is cut to six digits: truncation, as the evaluator does.
    Field<Instant> ts =
        DSL.field(
            "(case when {0} = 'string' then (case when {1} ~ {2} then (case when substr({1}, 9, 2)::int <= extract(day from"
                + " make_date(substr({1}, 1, 4)::int, substr({1}, 6, 2)::int, 1) + interval '1 month' - interval '1 day')::int"
                + " then regexp_replace({1}, {3}, {4})::timestamptz end) end) end)",
            USER_EVENTS.OCCURRED_AT.getDataType(),
            type,
            text,
            DSL.val(PropertyInstants.PATTERN),
            DSL.val("(\\.[0-9]{6})[0-9]+"),
            DSL.val("\\1"));
    Condition onMillis = DSL.trueCondition();
    Condition onTs = DSL.trueCondition();
    if (lo != null) {
      long l = loStrict ? epochNanosFloor(lo, 1_000_000) : ceil(lo, 1_000_000);
      onMillis =
          onMillis.and(
              loStrict
                  ? millis.gt(java.math.BigDecimal.valueOf(l))
                  : millis.ge(java.math.BigDecimal.valueOf(l)));
      Instant bound = loStrict ? floorTo(lo, 1000) : ceilTo(lo, 1000);
      onTs = onTs.and(loStrict ? ts.gt(bound) : ts.ge(bound));
    }
    if (hi != null) {
      long h = hiStrict ? ceil(hi, 1_000_000) : epochNanosFloor(hi, 1_000_000);
      onMillis =
          onMillis.and(
              hiStrict
                  ? millis.lt(java.math.BigDecimal.valueOf(h))
                  : millis.le(java.math.BigDecimal.valueOf(h)));
      Instant bound = hiStrict ? ceilTo(hi, 1000) : floorTo(hi, 1000);
      onTs = onTs.and(hiStrict ? ts.lt(bound) : ts.le(bound));
    }
    return DSL.coalesce(DSL.field(onMillis), DSL.inline(false))
        .isTrue()
        .or(DSL.coalesce(DSL.field(onTs), DSL.inline(false)).isTrue());
  }

  /** floor(x / unitNanos) in units (ms for 1e6). */
  private static long epochNanosFloor(Instant x, long unitNanos) {
    long perSecond = 1_000_000_000L / unitNanos;
    return Math.addExact(
        Math.multiplyExact(x.getEpochSecond(), perSecond), x.getNano() / unitNanos);
  }

  private static long ceil(Instant x, long unitNanos) {
    return epochNanosFloor(x, unitNanos) + (x.getNano() % unitNanos == 0 ? 0 : 1);
  }

  private static Instant floorTo(Instant x, long unitNanos) {
    return x.minusNanos(x.getNano() % unitNanos);
  }

  private static Instant ceilTo(Instant x, long unitNanos) {
    long rest = x.getNano() % unitNanos;
    return rest == 0 ? x : x.plusNanos(unitNanos - rest);
  }

  /** jsonb equality, false (not NULL) when the key is missing. */
  private static Condition equalsValue(Field<JSONB> actual, PropertyCriterion p) {
    // jsonb cannot hold a NUL character, so no stored value equals one (and PostgreSQL rejects it).
    if (p.value() == null || p.value().toString().contains("\\u0000")) return DSL.falseCondition();
    return DSL.condition(
        "coalesce({0} = {1}::jsonb, false)", actual, DSL.val(p.value().toString()));
  }

  private static Condition ordered(PropertyCriterion p, Field<String> type, Field<String> text) {
    if (p.value() == null || !p.value().isNumber()) return DSL.falseCondition();
    String op =
        switch (p.operator()) {
          case GT -> ">";
          case GTE -> ">=";
          case LT -> "<";
          default -> "<=";
        };
    return DSL.condition(
        "(case when {0} = 'number' then ({1})::numeric " + op + " {2} else false end)",
        type,
        text,
        DSL.val(p.value().decimalValue()));
  }

  private static Condition event(EventCriterion e, Field<String> userId, Instant now) {
    if (!e.windowed()) return allTime(e, userId);
    var ev = USER_EVENTS.as("ev");
    Condition match = ev.USER_ID.eq(userId).and(ev.EVENT.eq(e.eventName()));
    // occurred_at holds microseconds: "after x" equals "after x rounded down to the microsecond",
    // while letting the driver round x up would drop an event just inside the window.
    if (e.within() != null)
      match = match.and(ev.OCCURRED_AT.gt(now.minus(e.within()).truncatedTo(ChronoUnit.MICROS)));
    if (e.check() == EventCheck.EXISTS || (e.check() == EventCheck.COUNT && e.operator() == null)) {
      return DSL.exists(DSL.selectOne().from(ev).where(match));
    }
    if (e.check() == EventCheck.NOT_EXISTS)
      return DSL.notExists(DSL.selectOne().from(ev).where(match));
    long n = e.value();
    if (n < 0) {
      // A count is never negative: decided without a query (LIMIT would reject n+1 <= 0).
      return e.operator() == CountOperator.GT || e.operator() == CountOperator.GTE
          ? DSL.trueCondition()
          : DSL.falseCondition();
    }
    // Enough rows to decide the comparison: at most n+1.
    long limit = n == Long.MAX_VALUE ? n : n + 1;
    Field<Long> bounded =
        DSL.field(
            DSL.select(DSL.count().cast(SQLDataType.BIGINT))
                .from(DSL.selectOne().from(ev).where(match).limit(limit)));
    return compare(bounded, e.operator(), n);
  }

  private static Condition compare(Field<Long> count, CountOperator operator, long n) {
    return switch (operator) {
      case GT -> count.gt(n);
      case GTE -> count.ge(n);
      case LT -> count.lt(n);
      case LTE -> count.le(n);
      case EQ -> count.eq(n);
    };
  }

  /**
   * An all-time leg reads the user's rollup row ({@code user_event_rollups}, one primary-key
   * lookup): raw events older than the retention are gone, their count is not.
   */
  private static Condition allTime(EventCriterion e, Field<String> userId) {
    var r = USER_EVENT_ROLLUPS.as("ro");
    Condition match = r.USER_ID.eq(userId).and(r.EVENT.eq(e.eventName()));
    if (e.check() == EventCheck.EXISTS || (e.check() == EventCheck.COUNT && e.operator() == null)) {
      return DSL.exists(DSL.selectOne().from(r).where(match));
    }
    if (e.check() == EventCheck.NOT_EXISTS)
      return DSL.notExists(DSL.selectOne().from(r).where(match));
    Field<Long> count =
        DSL.coalesce(DSL.field(DSL.select(r.TOTAL_COUNT).from(r).where(match)), DSL.inline(0L));
    return compare(count, e.operator(), e.value());
  }
}
