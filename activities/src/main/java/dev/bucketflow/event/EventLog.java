package dev.bucketflow.event;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jooq.DSLContext;

/**
 * The one writer of {@code user_events}. An append stores, in the caller's transaction and in one
 * statement, the new idempotency keys ({@code user_event_keys}), the events whose key is new or who
 * have none, and those events' all-time facts ({@code user_event_rollups}: count, first and last
 * occurrence). Because the rollup is written by the same statement as the rows it counts, an
 * all-time criterion reading it agrees with the stored events even after retention has dropped them
 * (see {@link EventPartitions}).
 *
 * <p>Callers hold the contact locks of the entries' users (the one lock discipline), so two appends
 * never race on one user's keys or rollups; the statement still takes key and rollup rows in (user,
 * key) and (user, event) order, so appends outside that discipline cannot deadlock.
 */
public final class EventLog {

  private EventLog() {}

  /**
   * One event to store.
   *
   * @param propertiesJson the properties as JSON text (an object)
   * @param idempotencyKey the key, unique per user; {@code null} when the event has none (never
   *     deduplicated)
   */
  public record Entry(
      String userId,
      String event,
      String propertiesJson,
      Instant occurredAt,
      Instant receivedAt,
      String idempotencyKey) {}

  private static final String APPEND_SQL =
      """
      with input as (
        select x.*, cast(? as boolean) as claim
        from unnest(cast(? as text[]), cast(? as text[]), cast(? as jsonb[]), cast(? as timestamptz[]),
          cast(? as timestamptz[]), cast(? as text[]), cast(? as int[]))
          as x(user_id, event, properties, occurred_at, received_at, idempotency_key, ord)
      ), keys as (
        insert into user_event_keys (user_id, idempotency_key, received_at)
        select user_id, idempotency_key, received_at from input
        where claim and idempotency_key is not null
        order by user_id, idempotency_key
        on conflict do nothing
        returning user_id, idempotency_key
      ), stored as (
        select i.* from input i
        where i.idempotency_key is null or not i.claim
           or exists (select 1 from keys k where k.user_id = i.user_id and k.idempotency_key = i.idempotency_key)
      ), events as (
        insert into user_events (user_id, event, properties, occurred_at, received_at, idempotency_key)
        select user_id, event, properties, occurred_at, received_at, idempotency_key from stored order by ord
      ), rollups as (
        insert into user_event_rollups as r (user_id, event, total_count, first_at, last_at)
        select user_id, event, count(*), min(occurred_at), max(occurred_at) from stored
        group by user_id, event order by user_id, event
        on conflict (user_id, event) do update set
          total_count = r.total_count + excluded.total_count,
          first_at = least(r.first_at, excluded.first_at),
          last_at = greatest(r.last_at, excluded.last_at)
      )
      select ord from stored
      """;

  /**
   * Appends {@code entries}; returns per entry whether it was stored. An entry is not stored when
   * its (user, key) was stored before, or by an earlier entry of the same call.
   */
  public static boolean[] append(DSLContext tx, List<Entry> entries) {
    return append(tx, entries, true);
  }

  /**
   * Appends {@code entries} whose keys the caller has already made unique in this transaction, and
   * stores them all: their keys are kept on the rows but not claimed in {@code user_event_keys}.
   * For transition events, whose key {@code bucket:<id>:<user>:<kind>:<epoch>} names exactly the
   * outbox row's unique {@code (bucket_id, user_id, kind, epoch)}, never pruned: the caller writes
   * the events of the rows its insert created only (clients cannot send {@code bucket:} keys). A
   * key row per transition event cost a third of a reconcile chunk's event write ({@code bench
   * reconcile}).
   */
  public static void appendUnique(DSLContext tx, List<Entry> entries) {
    append(tx, entries, false);
  }

  private static boolean[] append(DSLContext tx, List<Entry> entries, boolean claimKeys) {
    boolean[] stored = new boolean[entries.size()];
    if (entries.isEmpty()) return stored;
    Set<List<String>> seenKeys = new HashSet<>();
    List<Integer> candidates = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      if (!claimKeys
          || e.idempotencyKey() == null
          || seenKeys.add(List.of(e.userId(), e.idempotencyKey()))) candidates.add(i);
    }
    int n = candidates.size();
    String[] users = new String[n];
    String[] events = new String[n];
    String[] props = new String[n];
    String[] occurred = new String[n];
    String[] received = new String[n];
    String[] keys = new String[n];
    Integer[] ords = new Integer[n];
    for (int j = 0; j < n; j++) {
      Entry e = entries.get(candidates.get(j));
      users[j] = e.userId();
      events[j] = e.event();
      props[j] = e.propertiesJson();
      occurred[j] = e.occurredAt().toString();
      received[j] = e.receivedAt().toString();
      keys[j] = e.idempotencyKey();
      ords[j] = candidates.get(j);
    }
    tx.fetch(APPEND_SQL, claimKeys, users, events, props, occurred, received, keys, ords)
        .forEach(r -> stored[r.get(0, Integer.class)] = true);
    return stored;
  }

  /**
   * Recomputes the rollups of {@code users}' events from {@code user_events} (for rows written by
   * SQL outside {@link #append}: the benchmarks' generated histories). Only correct while none of
   * those users' events has been dropped by retention.
   */
  public static void rebuildRollups(DSLContext tx, String userPrefix) {
    tx.execute("delete from user_event_rollups where starts_with(user_id, ?)", userPrefix);
    tx.execute(
        "insert into user_event_rollups (user_id, event, total_count, first_at, last_at) "
            + "select user_id, event, count(*), min(occurred_at), max(occurred_at) from user_events "
            + "where starts_with(user_id, ?) group by user_id, event",
        userPrefix);
  }
}
