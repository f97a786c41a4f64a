package dev.bucketflow.ingest;

import dev.bucketflow.event.EventLog;
import dev.bucketflow.event.IncomingEvent;
import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;

/** The ingest path's events: stored through {@link EventLog}, each (user, idempotency key) once. */
public final class EventStore {

  /**
   * Inserts the events and returns those actually stored, in batch order: an event whose key was
   * stored before (or earlier in this batch) is a duplicate and is left out.
   */
  public List<IncomingEvent> storeNew(DSLContext tx, List<IncomingEvent> events) {
    if (events.isEmpty()) return List.of();
    List<EventLog.Entry> entries = new ArrayList<>(events.size());
    for (IncomingEvent e : events) {
      entries.add(
          new EventLog.Entry(
              e.userId(),
              e.event(),
              e.properties().toString(),
              e.occurredAt(),
              e.receivedAt(),
              e.idempotencyKey()));
    }
    boolean[] stored = EventLog.append(tx, entries);
    List<IncomingEvent> out = new ArrayList<>(events.size());
    for (int i = 0; i < events.size(); i++) {
      if (stored[i]) out.add(events.get(i));
    }
    return out;
  }
}
