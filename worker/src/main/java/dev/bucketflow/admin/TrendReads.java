package dev.bucketflow.admin;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;

import dev.bucketflow.admin.Views.Trend;
import dev.bucketflow.admin.Views.TrendPoint;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jooq.Field;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * {@code GET /api/buckets/{id}/trend}: per UTC hour or day from {@code from} to {@code to}, the
 * joins ({@code entered}: rows whose {@code entered_at} falls in the slot), leaves ({@code left}:
 * rows whose {@code left_at} falls in it) and {@code size} (members at the slot's end). Three
 * set-based queries whatever the range: the size before the range, and joins and leaves grouped by
 * slot; the sizes are that base plus the running sum of joins minus leaves, so the last point's
 * size is the bucket's current size when {@code to} is now. Rows of deleted contacts are left out,
 * as in the bucket's size.
 */
final class TrendReads {

  static final int MAX_POINTS = 2_000;

  private final AdminContext ctx;

  TrendReads(AdminContext ctx) {
    this.ctx = ctx;
  }

  enum Interval {
    HOUR(Duration.ofHours(1), Duration.ofHours(48)),
    DAY(Duration.ofDays(1), Duration.ofDays(30));

    final Duration step;
    final Duration defaultSpan;

    Interval(Duration step, Duration defaultSpan) {
      this.step = step;
      this.defaultSpan = defaultSpan;
    }

    static Interval parse(String raw) {
      if (raw == null || raw.isEmpty() || raw.equals("day")) return DAY;
      if (raw.equals("hour")) return HOUR;
      throw ApiError.badRequest(
          "invalid_interval", "interval: expected hour or day, got " + ApiError.quote(raw));
    }

    String json() {
      return this == HOUR ? "hour" : "day";
    }
  }

  Trend trend(String bucketId, String intervalParam, String fromParam, String toParam) {
    Interval interval = Interval.parse(intervalParam);
    Instant now = ctx.clock().instant();
    Instant to = Params.instant("to", toParam, now);
    Instant from = Params.instant("from", fromParam, to.minus(interval.defaultSpan));
    if (!from.isBefore(to))
      throw ApiError.badRequest(
          "invalid_range", "from: must be before to (" + from + " >= " + to + ")");
    long stepSeconds = interval.step.toSeconds();
    Instant start =
        Instant.ofEpochSecond(Math.floorDiv(from.getEpochSecond(), stepSeconds) * stepSeconds);
    long slots = (to.getEpochSecond() - start.getEpochSecond() + stepSeconds - 1) / stepSeconds;
    if (slots == 0) slots = 1;
    if (slots > MAX_POINTS) {
      throw ApiError.badRequest(
          "invalid_range",
          "from/to: "
              + slots
              + " "
              + interval.json()
              + "s requested, at most "
              + MAX_POINTS
              + " points (narrow the range or use interval=day)");
    }
    Instant end = start.plusSeconds(slots * stepSeconds);
    var m = BUCKET_MEMBERSHIPS;
    var live = m.BUCKET_ID.eq(bucketId).and(m.DELETED_AT.isNull());
    long base =
        ctx.dsl()
            .fetchCount(
                m,
                live.and(m.ENTERED_AT.lt(start)).and(m.LEFT_AT.isNull().or(m.LEFT_AT.ge(start))));
    Map<Instant, Long> entered = perSlot(m.ENTERED_AT, live, start, end, interval);
    Map<Instant, Long> left = perSlot(m.LEFT_AT, live, start, end, interval);
    List<TrendPoint> points = new ArrayList<>();
    long size = base;
    for (long i = 0; i < slots; i++) {
      Instant at = start.plusSeconds(i * stepSeconds);
      long in = entered.getOrDefault(at, 0L);
      long out = left.getOrDefault(at, 0L);
      size += in - out;
      points.add(new TrendPoint(at, in, out, size));
    }
    return new Trend(interval.json(), start, end, points);
  }

  private Map<Instant, Long> perSlot(
      Field<Instant> time, org.jooq.Condition live, Instant start, Instant end, Interval interval) {
    Field<Instant> slot =
        DSL.field(
            "date_bin({0}::interval, {1}, timestamptz '1970-01-01 00:00:00+00')",
            SQLDataType.INSTANT, DSL.inline(interval == Interval.HOUR ? "1 hour" : "1 day"), time);
    Map<Instant, Long> out = new HashMap<>();
    ctx.dsl()
        .select(slot, DSL.count())
        .from(BUCKET_MEMBERSHIPS)
        .where(live.and(time.ge(start)).and(time.lt(end)))
        .groupBy(slot)
        .forEach(r -> out.put(r.value1(), (long) r.value2()));
    return out;
  }
}
