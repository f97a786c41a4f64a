package dev.bucketflow.testing;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.IngestBatch;
import dev.bucketflow.ingest.PendingEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Builds raw events and batches the way the ingest workflow hands them to the activity. */
public final class Events {

  private static final AtomicLong BATCHES = new AtomicLong();

  public static ObjectNode event(String user, String name, String propsJson) {
    ObjectNode e = Json.MAPPER.createObjectNode();
    e.put("userId", user).put("event", name);
    if (propsJson != null) {
      try {
        e.set("properties", Json.MAPPER.readTree(propsJson));
      } catch (Exception ex) {
        throw new IllegalArgumentException(ex);
      }
    }
    return e;
  }

  public static ObjectNode event(String user, String name) {
    return event(user, name, null);
  }

  public static ObjectNode at(ObjectNode event, Instant occurredAt) {
    event.put("occurredAt", occurredAt.toString());
    return event;
  }

  public static IngestBatch batch(Instant receivedAt, List<ObjectNode> events) {
    List<PendingEvent> pending = new ArrayList<>();
    for (ObjectNode e : events) pending.add(new PendingEvent(e, receivedAt.toEpochMilli()));
    return new IngestBatch("test-batch-" + BATCHES.incrementAndGet(), 0, pending);
  }

  public static IngestBatch batch(Instant receivedAt, ObjectNode... events) {
    return batch(receivedAt, List.of(events));
  }

  private Events() {}
}
