package dev.bucketflow.membership;

import static dev.bucketflow.schema.Tables.USER_EVENTS;

import dev.bucketflow.bucket.EventSeries;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/**
 * Loads, in two set-based queries, what the in-memory evaluator needs for a batch's users: the
 * all-time count of every referenced event and each occurrence inside that event's widest window.
 */
public final class EventHistoryLoader {

  /**
   * @param windows widest finite window per referenced event ({@code Duration.ZERO} for events
   *     only counted all-time)
   * @return per user, a series for every referenced event (empty ones included, so that events
   *     recorded later in memory never pretend to know all history)
   */
  public Map<String, Map<String, EventSeries>> load(DSLContext tx, Collection<String> users,
      Map<String, Duration> windows, Instant now) {
    Map<String, Map<String, Long>> totals = new HashMap<>();
    Map<String, Map<String, List<Instant>>> recent = new HashMap<>();
    if (!users.isEmpty() && !windows.isEmpty()) {
      var e = USER_EVENTS;
      tx.select(e.USER_ID, e.EVENT, DSL.count())
          .from(e).where(e.USER_ID.in(users).and(e.EVENT.in(windows.keySet())))
          .groupBy(e.USER_ID, e.EVENT)
          .forEach(r -> totals.computeIfAbsent(r.value1(), u -> new HashMap<>()).put(r.value2(), (long) r.value3()));
      List<Condition> windowed = new ArrayList<>();
      windows.forEach((event, window) -> {
        // Rounded down to the stored microseconds, as CriteriaSql does: nothing inside is missed.
        if (!window.isZero()) {
          windowed.add(e.EVENT.eq(event).and(e.OCCURRED_AT.gt(now.minus(window).truncatedTo(ChronoUnit.MICROS))));
        }
      });
      if (!windowed.isEmpty()) {
        tx.select(e.USER_ID, e.EVENT, e.OCCURRED_AT)
            .from(e).where(e.USER_ID.in(users).and(DSL.or(windowed)))
            .forEach(r -> recent.computeIfAbsent(r.value1(), u -> new HashMap<>())
                .computeIfAbsent(r.value2(), x -> new ArrayList<>()).add(r.value3()));
      }
    }
    Map<String, Map<String, EventSeries>> out = new HashMap<>();
    for (String user : users) {
      Map<String, EventSeries> series = new HashMap<>();
      windows.forEach((event, window) -> series.put(event, new EventSeries(
          totals.getOrDefault(user, Map.of()).getOrDefault(event, 0L),
          now.minus(window),
          recent.getOrDefault(user, Map.of()).getOrDefault(event, List.of()))));
      out.put(user, series);
    }
    return out;
  }
}
