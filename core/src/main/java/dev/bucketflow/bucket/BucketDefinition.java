package dev.bucketflow.bucket;

import java.time.Duration;
import java.util.Collections;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * One bucket, as defined in JSON ({@link BucketJson}) or Java ({@link #builder(String)}).
 *
 * <p>Nullable components: {@code name}, {@code description}, {@code criteria} (manual buckets),
 * {@code entryPeriod}, {@code minDwell}, {@code maxDwell}, {@code timeBasedOverride} and {@code
 * reconcileJoinsOverride} (null = infer), {@code postHogPropertyKey}. A null {@code kind} or {@code
 * entryLimit} is replaced by its default so builder- and JSON-made definitions compare equal.
 */
public record BucketDefinition(
    String id,
    String name,
    String description,
    BucketKind kind,
    Criterion criteria,
    EntryLimit entryLimit,
    Duration entryPeriod,
    Duration minDwell,
    Duration maxDwell,
    Boolean timeBasedOverride,
    Boolean reconcileJoinsOverride,
    boolean fastExpiry,
    boolean syncToPostHog,
    String postHogPropertyKey,
    boolean enabled,
    java.util.List<Duration> dwell) {

  public BucketDefinition {
    Objects.requireNonNull(id, "id");
    kind = kind == null ? BucketKind.DYNAMIC : kind;
    entryLimit = entryLimit == null ? EntryLimit.UNLIMITED : entryLimit;
    // Dwell thresholds in ascending order: the i-th event of an epoch is the i-th threshold.
    dwell =
        dwell == null
            ? java.util.List.of()
            : dwell.stream().filter(Objects::nonNull).sorted().distinct().toList();
  }

  /** The definition without dwell events (the shape before issue 12 item 4). */
  public BucketDefinition(
      String id,
      String name,
      String description,
      BucketKind kind,
      Criterion criteria,
      EntryLimit entryLimit,
      Duration entryPeriod,
      Duration minDwell,
      Duration maxDwell,
      Boolean timeBasedOverride,
      Boolean reconcileJoinsOverride,
      boolean fastExpiry,
      boolean syncToPostHog,
      String postHogPropertyKey,
      boolean enabled) {
    this(
        id,
        name,
        description,
        kind,
        criteria,
        entryLimit,
        entryPeriod,
        minDwell,
        maxDwell,
        timeBasedOverride,
        reconcileJoinsOverride,
        fastExpiry,
        syncToPostHog,
        postHogPropertyKey,
        enabled,
        java.util.List.of());
  }

  /** Whether the bucket emits {@code bucket:dwell:<id>} events. */
  public boolean hasDwellEvents() {
    return !dwell.isEmpty();
  }

  public static Builder builder(String id) {
    return new Builder(id);
  }

  /**
   * Whether the reconcile sweep must look at this bucket: an explicit {@code timeBased} wins;
   * otherwise membership can change by the clock alone when a leg has a window or a dwell bound.
   */
  public boolean timeBased() {
    if (timeBasedOverride != null) {
      return timeBasedOverride;
    }
    return minDwell != null
        || maxDwell != null
        || hasDwellEvents()
        || eventLegs().anyMatch(EventCriterion::windowed)
        || propertyLegs().anyMatch(p -> p.operator().dateRelative());
  }

  /**
   * Whether membership can begin or end by the clock alone — what {@code fastExpiry} needs a watch
   * for: a windowed event leg, a date-relative property leg, {@code maxDwell}, or dwell events
   * (they fire by the clock).
   */
  public boolean clockDriven() {
    return maxDwell != null
        || hasDwellEvents()
        || eventLegs().anyMatch(EventCriterion::windowed)
        || propertyLegs().anyMatch(p -> p.operator().dateRelative());
  }

  /**
   * Has a date-relative leg that can turn true by the clock alone ({@code within_next}, {@code
   * within_last}, {@code more_than_ago}): such users join without sending an event.
   */
  public boolean dateJoins() {
    return propertyLegs().anyMatch(p -> p.operator().joinsByClock());
  }

  /** Ids of the buckets its bucket conditions name, sorted. */
  public Set<String> referencedBuckets() {
    return sortedSet(
        nodes()
            .filter(BucketCriterion.class::isInstance)
            .map(c -> ((BucketCriterion) c).bucketId()));
  }

  private java.util.stream.Stream<PropertyCriterion> propertyLegs() {
    return nodes().filter(PropertyCriterion.class::isInstance).map(PropertyCriterion.class::cast);
  }

  /**
   * Has a windowed {@code not_exists} leg: users can start satisfying it without sending any event
   * (they just go quiet), so joins must also come from the clock.
   */
  public boolean absenceShaped() {
    return eventLegs().anyMatch(e -> e.check() == EventCheck.NOT_EXISTS && e.windowed());
  }

  /**
   * Whether the reconcile sweep performs clock-driven joins; defaults to {@link #absenceShaped()}
   * or {@link #dateJoins()}.
   */
  public boolean reconcilesJoins() {
    return reconcileJoinsOverride != null ? reconcileJoinsOverride : absenceShaped() || dateJoins();
  }

  /**
   * Whether per-member watches also join by the clock: a {@code fastExpiry} bucket whose joins the
   * clock alone can cause ({@link #reconcilesJoins()}). Such a non-member with a known join instant
   * has a watch of the next epoch sleeping toward it.
   */
  public boolean watchesJoins() {
    return fastExpiry && reconcilesJoins();
  }

  /** PostHog person property mirrored for members (DESIGN §11). */
  public String postHogKey() {
    return postHogPropertyKey != null && !postHogPropertyKey.isBlank()
        ? postHogPropertyKey
        : "hogsend_bucket_" + id;
  }

  /** Event names named anywhere in the criteria, sorted. */
  public Set<String> referencedEvents() {
    return sortedSet(eventLegs().map(EventCriterion::eventName));
  }

  /** Property names named anywhere in the criteria, sorted. */
  public Set<String> referencedProperties() {
    return sortedSet(
        nodes()
            .filter(PropertyCriterion.class::isInstance)
            .map(c -> ((PropertyCriterion) c).property()));
  }

  public String displayName() {
    return name != null && !name.isBlank() ? name : id;
  }

  public boolean manual() {
    return kind == BucketKind.MANUAL;
  }

  private Stream<Criterion> nodes() {
    return criteria == null ? Stream.empty() : criteria.walk();
  }

  private Stream<EventCriterion> eventLegs() {
    return nodes().filter(EventCriterion.class::isInstance).map(EventCriterion.class::cast);
  }

  private static Set<String> sortedSet(Stream<String> names) {
    TreeSet<String> sorted = names.collect(Collectors.toCollection(TreeSet::new));
    return Collections.unmodifiableSortedSet(sorted);
  }

  /** Fluent builder; defaults match the JSON defaults (dynamic, unlimited, enabled). */
  public static final class Builder {
    private final String id;
    private String name;
    private String description;
    private BucketKind kind = BucketKind.DYNAMIC;
    private Criterion criteria;
    private EntryLimit entryLimit = EntryLimit.UNLIMITED;
    private Duration entryPeriod;
    private Duration minDwell;
    private Duration maxDwell;
    private Boolean timeBased;
    private Boolean reconcileJoins;
    private boolean fastExpiry;
    private boolean syncToPostHog;
    private String postHogPropertyKey;
    private boolean enabled = true;
    private java.util.List<Duration> dwell = java.util.List.of();

    private Builder(String id) {
      this.id = Objects.requireNonNull(id, "id");
    }

    public Builder name(String name) {
      this.name = name;
      return this;
    }

    public Builder description(String description) {
      this.description = description;
      return this;
    }

    public Builder kind(BucketKind kind) {
      this.kind = kind;
      return this;
    }

    /** Shorthand for {@code kind(MANUAL)}. */
    public Builder manual() {
      return kind(BucketKind.MANUAL);
    }

    public Builder criteria(Criterion criteria) {
      this.criteria = criteria;
      return this;
    }

    public Builder entryLimit(EntryLimit entryLimit) {
      this.entryLimit = entryLimit;
      return this;
    }

    public Builder entryPeriod(Duration entryPeriod) {
      this.entryPeriod = entryPeriod;
      return this;
    }

    /** Shorthand for {@code entryLimit(ONCE_PER_PERIOD).entryPeriod(period)}. */
    public Builder oncePer(Duration period) {
      return entryLimit(EntryLimit.ONCE_PER_PERIOD).entryPeriod(period);
    }

    public Builder minDwell(Duration minDwell) {
      this.minDwell = minDwell;
      return this;
    }

    public Builder maxDwell(Duration maxDwell) {
      this.maxDwell = maxDwell;
      return this;
    }

    /** Explicit override of the inferred {@link BucketDefinition#timeBased()}; null = infer. */
    public Builder timeBased(Boolean timeBased) {
      this.timeBased = timeBased;
      return this;
    }

    /** Explicit override of {@link BucketDefinition#reconcilesJoins()}; null = infer. */
    public Builder reconcileJoins(Boolean reconcileJoins) {
      this.reconcileJoins = reconcileJoins;
      return this;
    }

    public Builder fastExpiry(boolean fastExpiry) {
      this.fastExpiry = fastExpiry;
      return this;
    }

    public Builder syncToPostHog(boolean syncToPostHog) {
      this.syncToPostHog = syncToPostHog;
      return this;
    }

    public Builder postHogPropertyKey(String key) {
      this.postHogPropertyKey = key;
      return this;
    }

    public Builder enabled(boolean enabled) {
      this.enabled = enabled;
      return this;
    }

    /** Dwell thresholds: {@code bucket:dwell:<id>} once per epoch after each. */
    public Builder dwell(Duration... after) {
      this.dwell = java.util.List.of(after);
      return this;
    }

    /** Builds without validating; run {@link BucketValidator#validate} before registering. */
    public BucketDefinition build() {
      return new BucketDefinition(
          id,
          name,
          description,
          kind,
          criteria,
          entryLimit,
          entryPeriod,
          minDwell,
          maxDwell,
          timeBased,
          reconcileJoins,
          fastExpiry,
          syncToPostHog,
          postHogPropertyKey,
          enabled,
          dwell);
    }
  }
}
