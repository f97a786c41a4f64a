package dev.bucketflow.bucket;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Immutable set of definitions with the inverted indexes that keep evaluation proportional to what
 * an event touches (DESIGN §7 "Candidates"): an event re-evaluates only buckets naming its event or
 * one of its payload's properties, never all buckets.
 *
 * <p>Definitions are kept sorted by id, so every list this class returns has a stable order.
 */
public final class BucketRegistry {
  private static final Comparator<BucketDefinition> BY_ID =
      Comparator.comparing(BucketDefinition::id);

  private final List<BucketDefinition> all;
  private final Map<String, BucketDefinition> byId = new HashMap<>();
  private final Map<String, List<BucketDefinition>> byEvent = new HashMap<>();
  private final Map<String, List<BucketDefinition>> byProperty = new HashMap<>();

  /** Enabled dynamic buckets whose bucket conditions name the key, directly. */
  private final Map<String, List<BucketDefinition>> directDependents = new HashMap<>();

  /** Dependency order: a bucket ranks after every bucket its conditions name. */
  private final Map<String, Integer> rank = new HashMap<>();

  /**
   * @throws IllegalArgumentException on duplicate ids (validate first)
   */
  public BucketRegistry(List<BucketDefinition> definitions) {
    List<BucketDefinition> sorted = new ArrayList<>(definitions);
    sorted.sort(BY_ID);
    this.all = List.copyOf(sorted);
    for (BucketDefinition d : all) {
      if (byId.putIfAbsent(d.id(), d) != null) {
        throw new IllegalArgumentException("duplicate bucket id " + d.id());
      }
      // Manual and disabled buckets never change membership on events, so never index them.
      if (d.manual() || !d.enabled() || d.criteria() == null) {
        continue;
      }
      d.referencedEvents().forEach(e -> byEvent.computeIfAbsent(e, k -> new ArrayList<>()).add(d));
      d.referencedProperties()
          .forEach(p -> byProperty.computeIfAbsent(p, k -> new ArrayList<>()).add(d));
      d.referencedBuckets()
          .forEach(b -> directDependents.computeIfAbsent(b, k -> new ArrayList<>()).add(d));
    }
    for (BucketDefinition d : all) {
      rankOf(d.id(), new java.util.LinkedHashSet<>());
    }
  }

  /**
   * Longest chain of dependencies below the bucket; throws on a cycle (validation refuses those
   * first).
   */
  private int rankOf(String id, Set<String> visiting) {
    Integer known = rank.get(id);
    if (known != null) {
      return known;
    }
    if (!visiting.add(id)) {
      throw new IllegalArgumentException(
          "bucket conditions form a cycle through " + visiting + " (validate first)");
    }
    int r = 0;
    BucketDefinition d = byId.get(id);
    if (d != null && d.criteria() != null) {
      for (String dep : d.referencedBuckets()) {
        r = Math.max(r, rankOf(dep, visiting) + 1);
      }
    }
    visiting.remove(id);
    rank.put(id, r);
    return r;
  }

  /** Dependency order, then id: the order in which buckets of one user are (re-)evaluated. */
  public Comparator<BucketDefinition> dependencyOrder() {
    return Comparator.<BucketDefinition>comparingInt(d -> rank.getOrDefault(d.id(), 0))
        .thenComparing(BY_ID);
  }

  /** Whether any enabled dynamic bucket has a bucket condition. */
  public boolean hasDependents() {
    return !directDependents.isEmpty();
  }

  /**
   * The enabled dynamic buckets that depend, directly or through others, on any of {@code changed}
   * (not those themselves unless they depend on another of them), in {@link #dependencyOrder}:
   * re-evaluating them in this order after a transition of {@code changed} sees every dependency
   * settled.
   */
  public List<BucketDefinition> dependentsOf(Collection<String> changed) {
    if (directDependents.isEmpty() || changed.isEmpty()) {
      return List.of();
    }
    Set<BucketDefinition> out = new TreeSet<>(dependencyOrder());
    java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(changed);
    while (!todo.isEmpty()) {
      for (BucketDefinition d : directDependents.getOrDefault(todo.poll(), List.of())) {
        if (out.add(d)) {
          todo.add(d.id());
        }
      }
    }
    return List.copyOf(out);
  }

  /**
   * {@code buckets} and all their dependents, in {@link #dependencyOrder}; {@code buckets} itself
   * when none depend.
   */
  public List<BucketDefinition> withDependents(List<BucketDefinition> buckets) {
    if (directDependents.isEmpty() || buckets.isEmpty()) {
      return buckets;
    }
    Set<BucketDefinition> out = new TreeSet<>(dependencyOrder());
    out.addAll(buckets);
    out.addAll(dependentsOf(buckets.stream().map(BucketDefinition::id).toList()));
    return List.copyOf(out);
  }

  /**
   * Keeps only the definitions the boot-time kill switch {@code ENABLED_BUCKETS} allows: {@code *}
   * (or null/blank) keeps all, else a comma-separated list of ids (whitespace ignored). Excluded
   * buckets are dropped entirely, not merely disabled. Ids in the spec that name no definition are
   * ignored here; report them with {@link #unknownIds} if wanted.
   */
  public static BucketRegistry filtered(
      List<BucketDefinition> definitions, String enabledBucketsSpec) {
    Optional<Set<String>> ids = parseSpec(enabledBucketsSpec);
    if (ids.isEmpty()) {
      return new BucketRegistry(definitions);
    }
    return new BucketRegistry(
        definitions.stream().filter(d -> ids.get().contains(d.id())).toList());
  }

  /** Ids named by the spec that match no definition, sorted (empty for {@code *}). */
  public static List<String> unknownIds(
      List<BucketDefinition> definitions, String enabledBucketsSpec) {
    Set<String> wanted = new TreeSet<>(parseSpec(enabledBucketsSpec).orElse(Set.of()));
    definitions.forEach(d -> wanted.remove(d.id()));
    return List.copyOf(wanted);
  }

  /** Empty = everything. */
  private static Optional<Set<String>> parseSpec(String spec) {
    if (spec == null || spec.isBlank() || spec.trim().equals("*")) {
      return Optional.empty();
    }
    Set<String> ids = new LinkedHashSet<>();
    for (String part : spec.split(",")) {
      if (!part.isBlank()) {
        ids.add(part.trim());
      }
    }
    return Optional.of(ids);
  }

  /** Every definition, including manual and disabled ones, sorted by id. */
  public List<BucketDefinition> all() {
    return all;
  }

  /** Definitions with {@code enabled = true}, sorted by id. */
  public List<BucketDefinition> enabled() {
    return all.stream().filter(BucketDefinition::enabled).toList();
  }

  public Optional<BucketDefinition> byId(String id) {
    return Optional.ofNullable(byId.get(id));
  }

  public int size() {
    return all.size();
  }

  /**
   * Enabled dynamic buckets that name {@code eventName} or any of {@code propertyNames}, deduped,
   * sorted by id. Transition events ({@code bucket:...}) get none — the recursion guard of DESIGN
   * §7 — even though their payload properties might be indexed.
   */
  public List<BucketDefinition> candidates(String eventName, Collection<String> propertyNames) {
    if (eventName != null && eventName.startsWith(BucketValidator.RESERVED_EVENT_PREFIX)) {
      return List.of();
    }
    Set<BucketDefinition> hits = new TreeSet<>(BY_ID);
    if (eventName != null) {
      hits.addAll(byEvent.getOrDefault(eventName, List.of()));
    }
    if (propertyNames != null) {
      for (String p : propertyNames) {
        hits.addAll(byProperty.getOrDefault(p, List.of()));
      }
    }
    return List.copyOf(hits);
  }

  /**
   * Enabled buckets the reconcile sweep must visit ({@link BucketDefinition#timeBased()}), manual
   * ones included (their {@code maxDwell} force-leaves are clock-driven too).
   */
  public List<BucketDefinition> timeBased() {
    return all.stream()
        .filter(BucketDefinition::enabled)
        .filter(BucketDefinition::timeBased)
        .toList();
  }

  /**
   * For each event named by the given definitions, the largest {@code within} of any leg on it, or
   * a {@code null} value when some leg on it is all-time (the "unbounded" marker: null wins over
   * any finite window). The map is sorted by event name and permits null values; use {@code
   * containsKey} to tell "all time" from "not referenced". For choosing how many timestamps to
   * load, {@link #widestFiniteWindowByEvent} is usually what a loader wants.
   */
  public static Map<String, Duration> widestWindowByEvent(
      Collection<BucketDefinition> definitions) {
    Map<String, Duration> out = new TreeMap<>();
    forEachEventLeg(
        definitions,
        e -> {
          if (!out.containsKey(e.eventName())) {
            out.put(e.eventName(), e.within());
          } else {
            Duration current = out.get(e.eventName());
            if (current != null && (e.within() == null || e.within().compareTo(current) > 0)) {
              out.put(e.eventName(), e.within());
            }
          }
        });
    return Collections.unmodifiableMap(out);
  }

  /**
   * For each event named by the given definitions, the largest finite {@code within} of any of its
   * legs, or {@link Duration#ZERO} when every leg on it is all-time (only the all-time count is
   * needed, no timestamps). Never null values. This is the window of timestamps to load so {@link
   * EventSeries#countSince} never throws: horizon = now - this value.
   */
  public static Map<String, Duration> widestFiniteWindowByEvent(
      Collection<BucketDefinition> definitions) {
    Map<String, Duration> out = new TreeMap<>();
    forEachEventLeg(
        definitions,
        e -> {
          Duration w = e.within() == null ? Duration.ZERO : e.within();
          out.merge(e.eventName(), w, (a, b) -> a.compareTo(b) >= 0 ? a : b);
        });
    return Collections.unmodifiableMap(out);
  }

  private static void forEachEventLeg(
      Collection<BucketDefinition> definitions,
      java.util.function.Consumer<EventCriterion> action) {
    for (BucketDefinition d : definitions) {
      if (d.criteria() != null) {
        d.criteria()
            .walk()
            .filter(EventCriterion.class::isInstance)
            .map(EventCriterion.class::cast)
            .forEach(action);
      }
    }
  }
}
