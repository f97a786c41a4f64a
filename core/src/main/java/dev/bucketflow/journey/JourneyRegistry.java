package dev.bucketflow.journey;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Immutable set of the <em>enabled</em> journeys with inverted indexes from event name to the
 * journeys it starts or exits, so routing an event costs one map lookup, never a scan. Disabled
 * journeys are dropped entirely ({@link #all()} and {@link #byId} do not see them).
 *
 * <p>Journeys are kept sorted by id, so every list this class returns has a stable order.
 */
public final class JourneyRegistry {
  private static final Comparator<JourneyDefinition> BY_ID =
      Comparator.comparing(JourneyDefinition::id);

  private final List<JourneyDefinition> all;
  private final Map<String, JourneyDefinition> byId = new HashMap<>();
  private final Map<String, List<JourneyDefinition>> byTrigger = new HashMap<>();
  private final Map<String, List<JourneyDefinition>> byExit = new HashMap<>();
  private final Set<String> eventNames;

  /**
   * @throws IllegalArgumentException on duplicate ids among enabled journeys (validate first)
   */
  public JourneyRegistry(List<JourneyDefinition> journeys) {
    List<JourneyDefinition> enabled =
        new ArrayList<>(journeys.stream().filter(JourneyDefinition::enabled).toList());
    enabled.sort(BY_ID);
    this.all = List.copyOf(enabled);
    for (JourneyDefinition d : all) {
      if (byId.putIfAbsent(d.id(), d) != null) {
        throw new IllegalArgumentException("duplicate journey id " + d.id());
      }
      if (d.triggerEvent() != null) {
        byTrigger.computeIfAbsent(d.triggerEvent(), k -> new ArrayList<>()).add(d);
      }
      // A set: a journey listed twice under one exit event is still signalled once.
      for (String e : new LinkedHashSet<>(d.exitOn())) {
        byExit.computeIfAbsent(e, k -> new ArrayList<>()).add(d);
      }
    }
    byTrigger.replaceAll((k, v) -> List.copyOf(v));
    byExit.replaceAll((k, v) -> List.copyOf(v));
    TreeSet<String> names = new TreeSet<>(byTrigger.keySet());
    names.addAll(byExit.keySet());
    this.eventNames = Collections.unmodifiableSortedSet(names);
  }

  /** Enabled journeys whose {@code triggerEvent} equals {@code eventName}, sorted by id. */
  public List<JourneyDefinition> triggeredBy(String eventName) {
    return eventName == null ? List.of() : byTrigger.getOrDefault(eventName, List.of());
  }

  /** Enabled journeys whose {@code exitOn} contains {@code eventName}, sorted by id. */
  public List<JourneyDefinition> exitedBy(String eventName) {
    return eventName == null ? List.of() : byExit.getOrDefault(eventName, List.of());
  }

  /** Whether some enabled journey starts or exits on {@code eventName}. */
  public boolean listensTo(String eventName) {
    return eventName != null && (byTrigger.containsKey(eventName) || byExit.containsKey(eventName));
  }

  /**
   * Whether the generic transition {@code bucket:entered} or {@code bucket:left} must be written
   * (DESIGN §7): true only when some enabled journey triggers or exits on exactly that name. False
   * for any other name, including the bucket-specific {@code bucket:entered:<id>}.
   */
  public boolean wantsGenericTransition(String genericName) {
    return (JourneyValidator.GENERIC_ENTERED.equals(genericName)
            || JourneyValidator.GENERIC_LEFT.equals(genericName))
        && listensTo(genericName);
  }

  /** Every event name some enabled journey triggers or exits on, sorted. */
  public Set<String> eventNames() {
    return eventNames;
  }

  /** The enabled journeys, sorted by id. */
  public List<JourneyDefinition> all() {
    return all;
  }

  /** An enabled journey by id. */
  public Optional<JourneyDefinition> byId(String id) {
    return Optional.ofNullable(id == null ? null : byId.get(id));
  }

  public int size() {
    return all.size();
  }
}
