package dev.bucketflow.bucket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/**
 * One user's evaluable state: merged contact properties and per-event series. Mutable so that a
 * batch can be applied event by event (DESIGN §7 exactness): merge the event's properties, record
 * the event, evaluate, repeat.
 */
public final class UserState {
  private final ObjectNode properties;
  private final Map<String, EventSeries> events;

  /** Ids of the buckets the user is an active member of, as far as bucket conditions need them. */
  private final java.util.Set<String> memberships = new java.util.HashSet<>();

  /** Both arguments are copied; nulls mean empty. */
  public UserState(ObjectNode properties, Map<String, EventSeries> events) {
    this.properties =
        properties == null ? JsonNodeFactory.instance.objectNode() : properties.deepCopy();
    this.events = new HashMap<>();
    if (events != null) {
      events.forEach((name, series) -> this.events.put(name, series.copy()));
    }
  }

  public static UserState empty() {
    return new UserState(null, null);
  }

  /** The property's value, or Java {@code null} when absent (a JSON null is a {@code NullNode}). */
  public JsonNode property(String name) {
    return properties.get(name);
  }

  /**
   * The series for an event; an empty, detached series when the user has none (record occurrences
   * with {@link #recordEvent}, not by mutating this result).
   */
  public EventSeries events(String name) {
    EventSeries s = events.get(name);
    return s != null ? s : EventSeries.empty();
  }

  /**
   * Shallow merge, later wins per key (DESIGN §5); a JSON null value is stored as null, not
   * removed.
   */
  public void mergeProperties(ObjectNode patch) {
    if (patch != null) {
      properties.setAll(patch.deepCopy());
    }
  }

  public void recordEvent(String name, Instant at) {
    events.computeIfAbsent(name, n -> EventSeries.empty()).add(at);
  }

  /** A copy of the merged properties (mutate through {@link #mergeProperties}). */
  public ObjectNode properties() {
    return properties.deepCopy();
  }

  public Map<String, EventSeries> eventSeries() {
    return Collections.unmodifiableMap(events);
  }

  /** Whether the user is an active member of the bucket (what bucket conditions read). */
  public boolean isMember(String bucketId) {
    return memberships.contains(bucketId);
  }

  /** Records a membership the caller loaded, or a join / leave applied in memory. */
  public void setMember(String bucketId, boolean member) {
    if (member) {
      memberships.add(bucketId);
    } else {
      memberships.remove(bucketId);
    }
  }

  /** The buckets {@link #isMember} is true for. */
  public java.util.Set<String> memberships() {
    return Collections.unmodifiableSet(memberships);
  }

  public UserState copy() {
    UserState copy = new UserState(properties, events);
    copy.memberships.addAll(memberships);
    return copy;
  }
}
