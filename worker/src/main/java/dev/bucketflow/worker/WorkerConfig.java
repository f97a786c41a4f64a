package dev.bucketflow.worker;

import dev.bucketflow.db.Secrets;
import dev.bucketflow.dispatch.DeliverySettings;
import dev.bucketflow.event.EventRetention;
import dev.bucketflow.ingest.IngestSettings;
import dev.bucketflow.reconcile.ReconcileService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** Everything a worker runs with, resolved from flags and environment, printed at start-up. */
public record WorkerConfig(
    String temporalAddress,
    String namespace,
    String taskQueue,
    int shards,
    String jdbcUrl,
    String dbUser,
    String dbPassword,
    int dbPoolSize,
    Path buckets,
    Path journeys,
    String enabledBuckets,
    int adminPort,
    IngestSettings ingest,
    Duration enabledSwitchTtl,
    String reconcileCron,
    int reconcileChunk,
    Duration maxFutureSkew,
    /**
     * Sticky schedule-to-start timeout; {@code ZERO} = sticky execution off; null = auto (see
     * {@link StickyTimeout}).
     */
    Duration stickyTimeout,
    /** Outbox delivery: retries, parking, lease and poll ({@code BUCKETFLOW_DELIVERY_*}). */
    DeliverySettings delivery,
    /** How long raw events are kept ({@code BUCKETFLOW_EVENT_RETENTION}). */
    EventRetention eventRetention,
    /** Clock-leave chunks a bucket's sweep runs at once ({@code --reconcile-parallelism}). */
    int reconcileParallelism) {

  /** As the canonical constructor with delivery settings from the environment. */
  public WorkerConfig(
      String temporalAddress,
      String namespace,
      String taskQueue,
      int shards,
      String jdbcUrl,
      String dbUser,
      String dbPassword,
      int dbPoolSize,
      Path buckets,
      Path journeys,
      String enabledBuckets,
      int adminPort,
      IngestSettings ingest,
      Duration enabledSwitchTtl,
      String reconcileCron,
      int reconcileChunk,
      Duration maxFutureSkew,
      Duration stickyTimeout) {
    this(
        temporalAddress,
        namespace,
        taskQueue,
        shards,
        jdbcUrl,
        dbUser,
        dbPassword,
        dbPoolSize,
        buckets,
        journeys,
        enabledBuckets,
        adminPort,
        ingest,
        enabledSwitchTtl,
        reconcileCron,
        reconcileChunk,
        maxFutureSkew,
        stickyTimeout,
        DeliverySettings.fromEnv(System.getenv()),
        EventRetention.fromEnv(System.getenv()),
        ReconcileService.DEFAULT_PARALLELISM);
  }

  /** As the canonical constructor with the sticky timeout on auto. */
  public WorkerConfig(
      String temporalAddress,
      String namespace,
      String taskQueue,
      int shards,
      String jdbcUrl,
      String dbUser,
      String dbPassword,
      int dbPoolSize,
      Path buckets,
      Path journeys,
      String enabledBuckets,
      int adminPort,
      IngestSettings ingest,
      Duration enabledSwitchTtl,
      String reconcileCron,
      int reconcileChunk,
      Duration maxFutureSkew) {
    this(
        temporalAddress,
        namespace,
        taskQueue,
        shards,
        jdbcUrl,
        dbUser,
        dbPassword,
        dbPoolSize,
        buckets,
        journeys,
        enabledBuckets,
        adminPort,
        ingest,
        enabledSwitchTtl,
        reconcileCron,
        reconcileChunk,
        maxFutureSkew,
        null);
  }

  public WorkerConfig {
    if (stickyTimeout != null && stickyTimeout.isNegative()) {
      throw new IllegalArgumentException("stickyTimeout must not be negative");
    }
    java.util.Objects.requireNonNull(delivery, "delivery");
    java.util.Objects.requireNonNull(eventRetention, "eventRetention");
    ReconcileService.checkParallelism(
        reconcileParallelism,
        "reconcileParallelism (--reconcile-parallelism, BUCKETFLOW_RECONCILE_PARALLELISM)");
  }

  static WorkerConfig of(
      TemporalOptions t,
      QueueOptions q,
      DatabaseOptions d,
      ContentOptions c,
      IngestOptions i,
      int adminPort) {
    return of(t, q, d, c, i, adminPort, null);
  }

  static WorkerConfig of(
      TemporalOptions t,
      QueueOptions q,
      DatabaseOptions d,
      ContentOptions c,
      IngestOptions i,
      int adminPort,
      Duration stickyTimeout) {
    return new WorkerConfig(
            t.address,
            t.namespace,
            q.taskQueue,
            q.shards,
            d.jdbcUrl(),
            d.user,
            d.password,
            d.poolSize,
            c.buckets,
            c.journeys,
            c.enabledBuckets,
            adminPort,
            i.settings(),
            Duration.ofSeconds(c.enabledSwitchTtlSeconds),
            c.reconcileCron,
            c.reconcileChunk,
            i.futureSkew(),
            stickyTimeout)
        .withReconcileParallelism(c.reconcileParallelism);
  }

  WorkerConfig withTemporalAddress(String address) {
    return new WorkerConfig(
        address,
        namespace,
        taskQueue,
        shards,
        jdbcUrl,
        dbUser,
        dbPassword,
        dbPoolSize,
        buckets,
        journeys,
        enabledBuckets,
        adminPort,
        ingest,
        enabledSwitchTtl,
        reconcileCron,
        reconcileChunk,
        maxFutureSkew,
        stickyTimeout,
        delivery,
        eventRetention,
        reconcileParallelism);
  }

  WorkerConfig withDelivery(DeliverySettings settings) {
    return new WorkerConfig(
        temporalAddress,
        namespace,
        taskQueue,
        shards,
        jdbcUrl,
        dbUser,
        dbPassword,
        dbPoolSize,
        buckets,
        journeys,
        enabledBuckets,
        adminPort,
        ingest,
        enabledSwitchTtl,
        reconcileCron,
        reconcileChunk,
        maxFutureSkew,
        stickyTimeout,
        settings,
        eventRetention,
        reconcileParallelism);
  }

  WorkerConfig withEventRetention(EventRetention retention) {
    return new WorkerConfig(
        temporalAddress,
        namespace,
        taskQueue,
        shards,
        jdbcUrl,
        dbUser,
        dbPassword,
        dbPoolSize,
        buckets,
        journeys,
        enabledBuckets,
        adminPort,
        ingest,
        enabledSwitchTtl,
        reconcileCron,
        reconcileChunk,
        maxFutureSkew,
        stickyTimeout,
        delivery,
        retention,
        reconcileParallelism);
  }

  /**
   * The clock-leave chunks a sweep runs at once: {@link #reconcileParallelism}, capped so that the
   * sweep's connections leave at least one of the pool to ingest.
   */
  int reconcileChunksAtOnce() {
    return Math.max(1, Math.min(reconcileParallelism, dbPoolSize - 1));
  }

  WorkerConfig withReconcileParallelism(int parallelism) {
    return new WorkerConfig(
        temporalAddress,
        namespace,
        taskQueue,
        shards,
        jdbcUrl,
        dbUser,
        dbPassword,
        dbPoolSize,
        buckets,
        journeys,
        enabledBuckets,
        adminPort,
        ingest,
        enabledSwitchTtl,
        reconcileCron,
        reconcileChunk,
        maxFutureSkew,
        stickyTimeout,
        delivery,
        eventRetention,
        parallelism);
  }

  WorkerConfig withStickyTimeout(Duration timeout) {
    return new WorkerConfig(
        temporalAddress,
        namespace,
        taskQueue,
        shards,
        jdbcUrl,
        dbUser,
        dbPassword,
        dbPoolSize,
        buckets,
        journeys,
        enabledBuckets,
        adminPort,
        ingest,
        enabledSwitchTtl,
        reconcileCron,
        reconcileChunk,
        maxFutureSkew,
        timeout,
        delivery,
        eventRetention,
        reconcileParallelism);
  }

  /**
   * The settings as printed at start-up. The password is never printed: only whether one is set,
   * and every string value is masked by {@link Secrets#redact} (a URL may carry credentials of its
   * own, and the password value is masked wherever it appears).
   */
  Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("temporal.address", temporalAddress);
    m.put("temporal.namespace", namespace);
    m.put("task-queue", taskQueue);
    m.put("shards", shards);
    m.put("database.url", jdbcUrl);
    m.put("database.user", dbUser);
    m.put(
        "database.password", dbPassword == null || dbPassword.isEmpty() ? "(none)" : Secrets.MASK);
    m.put("database.pool-size", dbPoolSize);
    m.put("buckets", buckets);
    m.put("journeys", journeys);
    m.put("enabled-buckets", enabledBuckets);
    m.put("enabled-switch-ttl", enabledSwitchTtl);
    m.put("reconcile.cron", reconcileCron);
    m.put("reconcile.chunk", reconcileChunk);
    m.put(
        "reconcile.parallelism",
        reconcileChunksAtOnce() == reconcileParallelism
            ? String.valueOf(reconcileParallelism)
            : reconcileChunksAtOnce()
                + " (asked for "
                + reconcileParallelism
                + ", capped by database.pool-size "
                + dbPoolSize
                + ")");
    m.put("admin-port", adminPort);
    m.put("ingest.max-batch", ingest.maxBatchSize());
    m.put("ingest.continue-as-new-after", ingest.continueAsNewAfter());
    m.put("ingest.max-payload-bytes", ingest.maxPayloadBytes());
    m.put("ingest.max-future-skew", maxFutureSkew);
    m.put("sticky-timeout", StickyTimeout.describe(stickyTimeout));
    m.put("delivery.max-attempts", delivery.maxAttempts());
    m.put("delivery.backoff", delivery.initialBackoff() + ".." + delivery.maxBackoff());
    m.put("delivery.poll", delivery.poll());
    m.put("delivery.yield-to-ingest", delivery.yieldToIngest());
    m.put(
        "event-retention",
        eventRetention
            .configured()
            .map(Object::toString)
            .orElse("auto (widest window + " + EventRetention.DEFAULT_MARGIN + ")"));
    m.replaceAll(
        (key, value) ->
            value == null
                ? null
                : value instanceof Number ? value : Secrets.redact(value.toString(), dbPassword));
    return m;
  }

  /** Never the record's default, which would print the password. */
  @Override
  public String toString() {
    return "WorkerConfig" + describe();
  }
}
