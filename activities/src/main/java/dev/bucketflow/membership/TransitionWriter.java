package dev.bucketflow.membership;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.Durations;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.db.Json;
import dev.bucketflow.event.EventLog;
import dev.bucketflow.event.IncomingEvent;
import dev.bucketflow.shard.Shards;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.jooq.DSLContext;

/**
 * Writes transitions in the caller's transaction: the outbox row ({@code bucket_transitions}) and
 * the {@code bucket:entered:<id>} / {@code bucket:left:<id>} user event with its deterministic key.
 * The generic {@code bucket:entered} / {@code bucket:left} event is written only when {@code
 * genericWanted} says a journey binds to it. The outbox row ignores a conflict on its unique
 * (bucket, user, kind, epoch), and the events follow only the rows it created (see {@link
 * EventLog#appendUnique}), so writing the same transition twice records it once.
 */
public final class TransitionWriter {

  /**
   * Keeps written events that journeys listen to, in the writer's transaction (the journey outbox);
   * membership cannot see the journeys package, so the composition root passes it in.
   */
  @FunctionalInterface
  public interface JourneyEvents {
    JourneyEvents NONE = (tx, batchId, stored) -> 0;

    int record(DSLContext tx, String batchId, List<IncomingEvent> stored);
  }

  private final Predicate<String> genericWanted;
  private final int shards;
  private final JourneyEvents journeyEvents;

  public TransitionWriter(Predicate<String> genericWanted) {
    this(genericWanted, Shards.DEFAULT_SHARDS);
  }

  /**
   * @param shards the delivery shard count: each row records its user's shard (the ingest shard
   *     function)
   */
  public TransitionWriter(Predicate<String> genericWanted, int shards) {
    this(genericWanted, shards, JourneyEvents.NONE);
  }

  /**
   * @param journeyEvents where dwell events go to reach journeys bound to {@code bucket:dwell:<id>}
   */
  public TransitionWriter(
      Predicate<String> genericWanted, int shards, JourneyEvents journeyEvents) {
    this.genericWanted = genericWanted;
    this.shards = shards;
    this.journeyEvents = journeyEvents;
  }

  /**
   * Writes claimed dwell events in the caller's transaction: the user event {@code
   * bucket:dwell:<id>} (properties {@code {"after":"P3D","entryCount":n}}, occurred at the instant
   * the threshold was reached, deterministic key, conflict ignored) and, for those stored now, the
   * journey outbox row. Returns how many were stored.
   */
  public int writeDwell(DSLContext tx, String bucketId, List<DwellEvents.Due> due, Instant now) {
    if (due.isEmpty()) return 0;
    List<IncomingEvent> events = new ArrayList<>(due.size());
    for (DwellEvents.Due d : due) {
      ObjectNode p = Json.MAPPER.createObjectNode();
      p.put("after", Durations.iso(d.after()));
      p.put("entryCount", d.epoch());
      events.add(
          new IncomingEvent(
              d.userId(), d.eventName(bucketId), p, null, d.at(), now, d.idempotencyKey(bucketId)));
    }
    List<EventLog.Entry> entries = new ArrayList<>(events.size());
    for (IncomingEvent ev : events) {
      entries.add(
          new EventLog.Entry(
              ev.userId(),
              ev.event(),
              ev.properties().toString(),
              ev.occurredAt(),
              ev.receivedAt(),
              ev.idempotencyKey()));
    }
    boolean[] written = EventLog.append(tx, entries);
    List<IncomingEvent> stored = new ArrayList<>(events.size());
    for (int i = 0; i < events.size(); i++) {
      if (written[i]) stored.add(events.get(i));
    }
    journeyEvents.record(tx, "dwell:" + bucketId, stored);
    return stored.size();
  }

  public static TransitionWriter withoutGenericEvents() {
    return new TransitionWriter(name -> false);
  }

  /**
   * One statement per table whatever the count: each column travels as one array parameter and
   * {@code unnest} turns them into rows. A multi-row VALUES list would bind nine parameters per row
   * and be rendered and planned anew for every row count (half of a reconcile chunk's time went
   * there, {@code bench reconcile}).
   */
  public void write(DSLContext tx, List<Transition> transitions) {
    if (transitions.isEmpty()) return;
    int n = transitions.size();
    String[] bucketIds = new String[n];
    String[] userIds = new String[n];
    String[] kinds = new String[n];
    Integer[] epochs = new Integer[n];
    String[] sources = new String[n];
    Boolean[] emitted = new Boolean[n];
    String[] at = new String[n];
    Integer[] shardsOf = new Integer[n];
    String[] reasons = new String[n];
    for (int i = 0; i < n; i++) {
      Transition tr = transitions.get(i);
      bucketIds[i] = tr.bucketId();
      userIds[i] = tr.userId();
      kinds[i] = tr.kind().db();
      epochs[i] = tr.epoch();
      sources[i] = tr.source().db();
      emitted[i] = tr.emitted();
      at[i] = tr.at().toString();
      shardsOf[i] = Shards.shardOf(tr.userId(), shards);
      reasons[i] = tr.reason().map(LeaveReason::db).orElse(null);
    }
    // The events follow the outbox rows this insert created, and only those: the rows' unique
    // (bucket_id, user_id, kind, epoch) is what the events' keys name, so it is their dedup.
    Set<RowKey> created = new HashSet<>();
    tx.fetch(
            "insert into bucket_transitions (bucket_id, user_id, kind, epoch, source, emitted,"
                + " created_at, shard, reason) select * from unnest(?::text[], ?::text[], ?::text[],"
                + " ?::int[], ?::text[], ?::boolean[], ?::timestamptz[], ?::int[], ?::text[])"
                + " on conflict do nothing returning bucket_id, user_id, kind, epoch",
            bucketIds,
            userIds,
            kinds,
            epochs,
            sources,
            emitted,
            at,
            shardsOf,
            reasons)
        .forEach(
            r ->
                created.add(
                    new RowKey(
                        r.get(0, String.class),
                        r.get(1, String.class),
                        r.get(2, String.class),
                        r.get(3, Integer.class))));

    // Each emitted transition is also an event (bucket:entered:<id> ...), and the generic one when
    // wanted.
    List<EventLog.Entry> events = new ArrayList<>();
    for (Transition tr : transitions) {
      // remove, not contains: a transition listed twice in one call has one row, so one set of
      // events.
      if (!tr.emitted() || !created.remove(RowKey.of(tr))) continue;
      String props = properties(tr).toString();
      events.add(
          new EventLog.Entry(
              tr.userId(), tr.eventName(), props, tr.at(), tr.at(), tr.idempotencyKey()));
      String generic = "bucket:" + tr.kind();
      if (genericWanted.test(generic)) {
        events.add(
            new EventLog.Entry(
                tr.userId(), generic, props, tr.at(), tr.at(), tr.idempotencyKey() + ":generic"));
      }
    }
    EventLog.appendUnique(tx, events);
  }

  /** A {@code bucket_transitions} row's unique key. */
  private record RowKey(String bucketId, String userId, String kind, int epoch) {
    static RowKey of(Transition tr) {
      return new RowKey(tr.bucketId(), tr.userId(), tr.kind().db(), tr.epoch());
    }
  }

  static ObjectNode properties(Transition tr) {
    ObjectNode p = Json.MAPPER.createObjectNode();
    p.put("bucketId", tr.bucketId());
    p.put("bucketName", tr.bucketName());
    p.put("userId", tr.userId());
    p.put("transition", tr.kind().db());
    p.put("source", tr.source().db());
    tr.reason().ifPresent(r -> p.put("reason", r.db()));
    return p;
  }
}
