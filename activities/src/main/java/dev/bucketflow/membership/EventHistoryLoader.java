package dev.bucketflow.membership;

import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static dev.bucketflow.schema.Tables.USER_EVENT_ROLLUPS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.EventCheck;
import dev.bucketflow.bucket.EventCriterion;
import dev.bucketflow.bucket.EventSeries;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/**
 * Loads, set-based, what the in-memory evaluator needs for a batch's users: the all-time count of
 * every referenced event (from {@code user_event_rollups}, which outlives the raw rows' retention)
 * and each occurrence inside that event's widest window (from {@code user_events}).
 */
public final class EventHistoryLoader {

  /**
   * @param windows widest finite window per referenced event ({@code Duration.ZERO} for events only
   *     counted all-time)
   * @return per user, a series for every referenced event (empty ones included, so that events
   *     recorded later in memory never pretend to know all history)
   */
  public Map<String, Map<String, EventSeries>> load(
      DSLContext tx, Collection<String> users, Map<String, Duration> windows, Instant now) {
    Map<String, Map<String, Long>> totals = new HashMap<>();
    Map<String, Map<String, List<Instant>>> recent = new HashMap<>();
    if (!users.isEmpty() && !windows.isEmpty()) {
      var e = USER_EVENTS;
      var ro = USER_EVENT_ROLLUPS;
      // All-time counts from the rollup: raw events older than the retention are gone.
      tx.select(ro.USER_ID, ro.EVENT, ro.TOTAL_COUNT)
          .from(ro)
          .where(ro.USER_ID.in(users).and(ro.EVENT.in(windows.keySet())))
          .forEach(
              x ->
                  totals
                      .computeIfAbsent(x.value1(), u -> new HashMap<>())
                      .put(x.value2(), x.value3()));
      List<Condition> windowed = new ArrayList<>();
      windows.forEach(
          (event, window) -> {
            // Rounded down to the stored microseconds, as CriteriaSql does: nothing inside is
            // missed.
            if (!window.isZero()) {
              windowed.add(
                  e.EVENT
                      .eq(event)
                      .and(e.OCCURRED_AT.gt(now.minus(window).truncatedTo(ChronoUnit.MICROS))));
            }
          });
      if (!windowed.isEmpty()) {
        tx.select(e.USER_ID, e.EVENT, e.OCCURRED_AT)
            .from(e)
            .where(e.USER_ID.in(users).and(DSL.or(windowed)))
            .forEach(
                r ->
                    recent
                        .computeIfAbsent(r.value1(), u -> new HashMap<>())
                        .computeIfAbsent(r.value2(), x -> new ArrayList<>())
                        .add(r.value3()));
      }
    }
    Map<String, Map<String, EventSeries>> out = new HashMap<>();
    for (String user : users) {
      Map<String, EventSeries> series = new HashMap<>();
      windows.forEach(
          (event, window) ->
              series.put(
                  event,
                  new EventSeries(
                      totals.getOrDefault(user, Map.of()).getOrDefault(event, 0L),
                      now.minus(window),
                      recent.getOrDefault(user, Map.of()).getOrDefault(event, List.of()))));
      out.put(user, series);
    }
    return out;
  }

  /**
   * What the evaluator and {@link dev.bucketflow.bucket.NextFlip} can ever ask of one event's
   * series, over the legs of some buckets (see {@link #needs}).
   *
   * @param window widest finite window of a leg on the event ({@code ZERO}: none is windowed)
   * @param cap the newest {@code cap} times inside {@code window} are enough (0: none needed)
   */
  public record Need(Duration window, int cap) {}

  /**
   * Per event, what the legs of {@code buckets} need. A leg compares a count with {@code n} (its
   * value; 0 for {@code exists}, {@code not_exists} and a count without operator), so for every
   * operator its verdict only depends on {@code min(count, n + 1)}; NextFlip reads the n-th and
   * (n+1)-th newest times of windowed legs. Hence windowed legs need the newest {@code n + 1} times
   * of their window (the newest of the widest window contain the newest of any narrower one, as
   * every window ends at the evaluation instant and NextFlip only evaluates later instants, whose
   * windows start after the loaded horizon). All-time legs read the exact count of the rollup,
   * which costs the same whatever its size. Caps are the maxima over the legs on the same event.
   */
  public static Map<String, Need> needs(Collection<BucketDefinition> buckets) {
    Map<String, Need> out = new TreeMap<>();
    for (BucketDefinition d : buckets) {
      if (d.criteria() == null) continue;
      d.criteria()
          .walk()
          .filter(EventCriterion.class::isInstance)
          .map(EventCriterion.class::cast)
          .forEach(
              e -> {
                long n =
                    e.check() == EventCheck.COUNT && e.operator() != null && e.value() != null
                        ? Math.max(0, e.value())
                        : 0;
                int upTo = (int) Math.min(Integer.MAX_VALUE, n + 1);
                Need leg =
                    e.within() == null ? new Need(Duration.ZERO, 0) : new Need(e.within(), upTo);
                out.merge(
                    e.eventName(),
                    leg,
                    (a, b) ->
                        new Need(
                            a.window().compareTo(b.window()) >= 0 ? a.window() : b.window(),
                            Math.max(a.cap(), b.cap())));
              });
    }
    return out;
  }

  /**
   * Per (user, event) pair asked for that the user ever had: the exact all-time count (its rollup
   * row, one primary-key probe per pair), and the newest {@code cap} times inside the window, a
   * bounded index range scan newest first instead of listing every occurrence. A pair without a
   * rollup row has no events at all and costs one probe; a pair whose last occurrence is at or
   * before the horizon skips the range scan (a one-time filter on the lateral), which is most pairs
   * of a history older than its windows. The pairs are exactly what each user's candidate buckets
   * read, not every user times every event the batch's buckets read: the latter grew with the
   * database (a user who sent {@code logout} loaded ten events' history), and was the largest part
   * of why {@code bench ingest}'s rate fell through its run. One statement of fixed text (arrays
   * bound, not IN lists), so its plan is prepared once and nothing is rendered per user.
   */
  static final String BOUNDED_SQL =
      """
      select p.user_id, p.event, a.total_count, w.occurred_at
      from unnest(cast(? as text[]), cast(? as text[])) as p(user_id, event)
      join unnest(cast(? as text[]), cast(? as timestamptz[]), cast(? as int[])) as x(event, horizon, cap)
        on x.event = p.event
      join user_event_rollups a on a.user_id = p.user_id and a.event = p.event
      left join lateral (
        select e.occurred_at from user_events e
        where x.cap > 0 and a.last_at > x.horizon
          and e.user_id = a.user_id and e.event = a.event and e.occurred_at > x.horizon
        order by e.occurred_at desc limit x.cap) w on true
      """;

  /**
   * {@link #loadBounded(DSLContext, Map, Instant)} with every user reading every one of {@code
   * buckets}.
   */
  public Map<String, Map<String, EventSeries>> loadBounded(
      DSLContext tx, Collection<String> users, Collection<BucketDefinition> buckets, Instant now) {
    Map<String, Collection<BucketDefinition>> byUser = new java.util.LinkedHashMap<>();
    for (String user : users) byUser.put(user, buckets);
    return loadBounded(tx, byUser, now);
  }

  /**
   * Like {@link #load} but bounded by {@link #needs}, and per user only the events its own buckets
   * read: per user, a series for every event one of its buckets references, answering every leg of
   * those buckets exactly as the full series would (see {@link EventSeries#newest}); only those
   * buckets' legs may be evaluated on them. The ingest path's load, where a user's buckets are the
   * candidates of its events in the batch.
   */
  public Map<String, Map<String, EventSeries>> loadBounded(
      DSLContext tx,
      Map<String, ? extends Collection<BucketDefinition>> bucketsByUser,
      Instant now) {
    // Windows and caps are the widest over all the batch's buckets: more than one user's buckets
    // need is still exact for them, and keeps one horizon per event.
    Map<String, BucketDefinition> all = new java.util.LinkedHashMap<>();
    bucketsByUser.values().forEach(bs -> bs.forEach(b -> all.put(b.id(), b)));
    Map<String, Need> needs = needs(all.values());
    Map<String, java.util.Set<String>> eventsByUser = new java.util.LinkedHashMap<>();
    List<String> pairUsers = new ArrayList<>();
    List<String> pairEvents = new ArrayList<>();
    bucketsByUser.forEach(
        (user, bs) -> {
          java.util.Set<String> events = new java.util.TreeSet<>();
          for (BucketDefinition b : bs) events.addAll(b.referencedEvents());
          eventsByUser.put(user, events);
          for (String event : events) {
            pairUsers.add(user);
            pairEvents.add(event);
          }
        });
    Map<String, Map<String, Long>> totals = new HashMap<>();
    Map<String, Map<String, List<Instant>>> recent = new HashMap<>();
    if (!pairUsers.isEmpty()) {
      List<String> events = new ArrayList<>(needs.keySet());
      String[] horizons = new String[events.size()];
      Integer[] caps = new Integer[events.size()];
      for (int i = 0; i < events.size(); i++) {
        Need need = needs.get(events.get(i));
        // Rounded down to the stored microseconds, as CriteriaSql does: nothing inside is missed
        // (a time at or before the exact horizon is dropped below).
        horizons[i] = now.minus(need.window()).truncatedTo(ChronoUnit.MICROS).toString();
        caps[i] = need.window().isZero() ? 0 : need.cap();
      }
      tx.fetch(
              BOUNDED_SQL,
              pairUsers.toArray(new String[0]),
              pairEvents.toArray(new String[0]),
              events.toArray(new String[0]),
              horizons,
              caps)
          .forEach(
              r -> {
                String user = r.get(0, String.class);
                String event = r.get(1, String.class);
                totals.computeIfAbsent(user, u -> new HashMap<>()).put(event, r.get(2, Long.class));
                List<Instant> times =
                    recent
                        .computeIfAbsent(user, u -> new HashMap<>())
                        .computeIfAbsent(event, x -> new ArrayList<>());
                java.time.OffsetDateTime at = r.get(3, java.time.OffsetDateTime.class);
                if (at != null && at.toInstant().isAfter(now.minus(needs.get(event).window())))
                  times.add(at.toInstant());
              });
    }
    Map<String, Map<String, EventSeries>> out = new HashMap<>();
    eventsByUser.forEach(
        (user, events) -> {
          Map<String, EventSeries> series = new HashMap<>();
          for (String event : events) {
            series.put(
                event,
                EventSeries.newest(
                    totals.getOrDefault(user, Map.of()).getOrDefault(event, 0L),
                    now.minus(needs.get(event).window()),
                    recent.getOrDefault(user, Map.of()).getOrDefault(event, List.of())));
          }
          out.put(user, series);
        });
    return out;
  }
}
