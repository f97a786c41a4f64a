package dev.bucketflow.ingest;

import dev.bucketflow.event.IncomingEvent;
import static dev.bucketflow.schema.Tables.USER_EVENTS;

import dev.bucketflow.db.Json;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jooq.DSLContext;

/** {@code user_events}: stores a batch in one statement, each (user, idempotency key) once. */
public final class EventStore {

  /**
   * Inserts the events and returns those actually stored, in batch order: an event whose key was
   * stored before (or earlier in this batch) is a duplicate and is left out.
   */
  public List<IncomingEvent> storeNew(DSLContext tx, List<IncomingEvent> events) {
    if (events.isEmpty()) return List.of();
    // Keys are per user (unique (user_id, idempotency_key)).
    Set<List<String>> seenKeys = new HashSet<>();
    List<IncomingEvent> candidates = new ArrayList<>(events.size());
    for (IncomingEvent e : events) {
      if (e.idempotencyKey() == null || seenKeys.add(List.of(e.userId(), e.idempotencyKey()))) candidates.add(e);
    }
    var step =
        tx.insertInto(USER_EVENTS, USER_EVENTS.USER_ID, USER_EVENTS.EVENT, USER_EVENTS.PROPERTIES,
            USER_EVENTS.OCCURRED_AT, USER_EVENTS.RECEIVED_AT, USER_EVENTS.IDEMPOTENCY_KEY);
    for (IncomingEvent e : candidates) {
      step = step.values(e.userId(), e.event(), Json.jsonb(e.properties()), e.occurredAt(),
          e.receivedAt(), e.idempotencyKey());
    }
    Set<List<String>> storedKeys = new HashSet<>();
    step.onConflictDoNothing().returningResult(USER_EVENTS.USER_ID, USER_EVENTS.IDEMPOTENCY_KEY)
        .forEach(r -> {
          if (r.value2() != null) storedKeys.add(List.of(r.value1(), r.value2()));
        });
    List<IncomingEvent> stored = new ArrayList<>(candidates.size());
    for (IncomingEvent e : candidates) {
      if (e.idempotencyKey() == null || storedKeys.contains(List.of(e.userId(), e.idempotencyKey()))) stored.add(e);
    }
    return stored;
  }
}
