package dev.bucketflow.admin;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.JOURNEY_OUTBOX;
import static dev.bucketflow.schema.Tables.POSTHOG_MIRROR;
import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;

import com.uber.m3.tally.RootScopeBuilder;
import com.uber.m3.tally.Scope;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.ingest.IngestActivities;
import dev.bucketflow.ingest.IngestCommitListener;
import dev.bucketflow.ingest.IngestStats;
import dev.bucketflow.shard.Shards;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.temporal.client.WorkflowClient;
import io.temporal.common.reporter.MicrometerClientStatsReporter;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /metrics} (Prometheus text format): one Micrometer registry holding
 *
 * <ul>
 *   <li>what ingest does, counted as it happens by {@link MeteredIngestActivities}: {@code
 *       bucketflow_events_applied_total}, {@code bucketflow_events_duplicate_total}, {@code
 *       bucketflow_ingest_batch_seconds} (batch latency, a timer);
 *   <li>latencies from signal receipt to commit, per event, by {@link IngestLatencyMeters}: {@code
 *       bucketflow_event_transition_latency_seconds} and {@code
 *       bucketflow_event_applied_latency_seconds};
 *   <li>what the database holds, read at scrape time (at most every {@link #DB_REFRESH}): {@code
 *       bucketflow_events_rejected_total{reason}}, {@code
 *       bucketflow_transitions_total{bucket,kind}}, {@code bucketflow_bucket_members{bucket}},
 *       {@code bucketflow_outbox_backlog{outbox}} and {@code bucketflow_outbox_parked{outbox}} for
 *       {@code bucket_transitions}, {@code journey_outbox} and {@code posthog_mirror};
 *   <li>{@code bucketflow_shard_pending{shard}} from each ingest shard's {@code stats} query;
 *   <li>the Temporal SDK's own metrics ({@code temporal_*}: workflow and activity latencies by type
 *       — reconcile and backfill durations are {@code temporal_workflow_endtoend_latency} of {@code
 *       BucketReconcile} / {@code BucketBackfill} —, task slots, poll counts, ...), reported into
 *       the same registry through {@link #temporalScope()}.
 * </ul>
 */
public final class AdminMetrics {

  private static final Logger log = LoggerFactory.getLogger(AdminMetrics.class);
  static final Duration DB_REFRESH = Duration.ofSeconds(5);

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Map<String, AtomicLong> values = new ConcurrentHashMap<>();
  private final IngestLatencyMeters latencies = new IngestLatencyMeters(registry);
  private volatile DSLContext dsl;
  private volatile WorkflowClient client;
  private volatile int shards;
  private volatile Instant refreshedAt = Instant.MIN;

  public MeterRegistry registry() {
    return registry;
  }

  /**
   * The Tally scope to give Temporal's service stubs, so the SDK's metrics land in this registry.
   */
  public Scope temporalScope() {
    return new RootScopeBuilder()
        .reporter(new MicrometerClientStatsReporter(registry))
        .reportEvery(com.uber.m3.util.Duration.ofSeconds(1));
  }

  /**
   * The ingest commit listener behind {@code bucketflow_event_transition_latency_seconds} and
   * {@code bucketflow_event_applied_latency_seconds} (see {@link IngestLatencyMeters}).
   */
  public IngestCommitListener ingestLatencies() {
    return latencies;
  }

  /** The event→transition timer (the dashboard reads its percentiles). */
  public Timer transitionLatency() {
    return latencies.transition();
  }

  /**
   * {@code GET /api/latency}: {@code {"eventToTransition": {"count", "p50Seconds", "p90Seconds",
   * "p99Seconds"}, "eventToApplied": {...}}}, the percentiles over the timers' sliding window
   * (about the last minute; null when it holds no sample), the count since start.
   */
  public Map<String, Map<String, Object>> latencySummary() {
    return Map.of(
        "eventToTransition",
        summary(latencies.transition()),
        "eventToApplied",
        summary(latencies.applied()));
  }

  private static Map<String, Object> summary(Timer timer) {
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    out.put("count", timer.count());
    var snapshot = timer.takeSnapshot();
    for (var p : snapshot.percentileValues()) {
      double seconds = p.value(java.util.concurrent.TimeUnit.SECONDS);
      String key = "p" + Math.round(p.percentile() * 100) + "Seconds";
      // Micrometer reports 0 for a window without samples: say "no data" instead.
      out.put(key, snapshot.count() == 0 && seconds == 0 ? null : seconds);
    }
    return out;
  }

  /** Wraps a worker's ingest activities so applied events and batch latency are counted. */
  public IngestActivities meter(IngestActivities delegate) {
    return new MeteredIngestActivities(delegate, registry);
  }

  /** Starts the database- and shard-backed meters (call once the worker runs). */
  public void bind(DSLContext dsl, WorkflowClient client, int shards) {
    this.dsl = dsl;
    this.client = client;
    this.shards = shards;
  }

  /**
   * The Prometheus text exposition, database figures refreshed first when older than {@link
   * #DB_REFRESH}.
   */
  public synchronized String scrape() {
    Instant now = Instant.now();
    if (dsl != null && refreshedAt.plus(DB_REFRESH).isBefore(now)) {
      try {
        refresh();
      } catch (RuntimeException e) {
        log.warn("metrics: cannot read the database figures; serving the last ones", e);
      }
      refreshedAt = now;
    }
    return registry.scrape();
  }

  private void refresh() {
    var r = REJECTED_EVENTS;
    dsl.select(r.REASON, DSL.count())
        .from(r)
        .groupBy(r.REASON)
        .forEach(
            x ->
                counter(
                    "bucketflow_events_rejected_total",
                    "events refused into rejected_events",
                    x.value2(),
                    "reason",
                    x.value1()));
    var t = BUCKET_TRANSITIONS;
    dsl.select(t.BUCKET_ID, t.KIND, DSL.count())
        .from(t)
        .groupBy(t.BUCKET_ID, t.KIND)
        .forEach(
            x ->
                counter(
                    "bucketflow_transitions_total",
                    "joins and leaves written to the outbox",
                    x.value3(),
                    "bucket",
                    x.value1(),
                    "kind",
                    x.value2().db()));
    var m = BUCKET_MEMBERSHIPS;
    dsl.select(m.BUCKET_ID, DSL.count())
        .from(m)
        .where(m.STATUS.eq(MembershipStatus.ACTIVE).and(m.DELETED_AT.isNull()))
        .groupBy(m.BUCKET_ID)
        .forEach(
            x ->
                gauge(
                    "bucketflow_bucket_members",
                    "active members",
                    x.value2(),
                    "bucket",
                    x.value1()));
    var jo = JOURNEY_OUTBOX;
    var pm = POSTHOG_MIRROR;
    String backlog = "outbox rows waiting for delivery (not dispatched, not parked)";
    String parked =
        "outbox rows parked after failing delivery too often (bucketflow outbox lists them)";
    gauge(
        "bucketflow_outbox_backlog",
        backlog,
        dsl.fetchCount(t, t.DISPATCHED_AT.isNull().and(t.PARKED_AT.isNull())),
        "outbox",
        "bucket_transitions");
    gauge(
        "bucketflow_outbox_backlog",
        backlog,
        dsl.fetchCount(jo, jo.DISPATCHED_AT.isNull().and(jo.PARKED_AT.isNull())),
        "outbox",
        "journey_outbox");
    gauge(
        "bucketflow_outbox_backlog",
        backlog,
        dsl.fetchCount(pm, pm.SENT_VERSION.isDistinctFrom(pm.VERSION).and(pm.PARKED_AT.isNull())),
        "outbox",
        "posthog_mirror");
    gauge(
        "bucketflow_outbox_parked",
        parked,
        dsl.fetchCount(t, t.PARKED_AT.isNotNull()),
        "outbox",
        "bucket_transitions");
    gauge(
        "bucketflow_outbox_parked",
        parked,
        dsl.fetchCount(jo, jo.PARKED_AT.isNotNull()),
        "outbox",
        "journey_outbox");
    gauge(
        "bucketflow_outbox_parked",
        parked,
        dsl.fetchCount(pm, pm.PARKED_AT.isNotNull()),
        "outbox",
        "posthog_mirror");
    if (client != null) {
      for (int n = 0; n < shards; n++) {
        try {
          IngestStats s =
              client.newUntypedWorkflowStub(Shards.workflowId(n)).query("stats", IngestStats.class);
          gauge(
              "bucketflow_shard_pending",
              "events buffered in an ingest shard, not yet applied",
              s.pending(),
              "shard",
              Integer.toString(n));
        } catch (RuntimeException notStarted) {
          // a shard that never received an event has no workflow: nothing pending
        }
      }
    }
  }

  private void counter(String name, String help, long value, String... tags) {
    AtomicLong v =
        values.computeIfAbsent(
            key(name, tags),
            k -> {
              AtomicLong holder = new AtomicLong();
              FunctionCounter.builder(
                      name.replaceFirst("_total$", ""), holder, AtomicLong::doubleValue)
                  .description(help)
                  .tags(tags)
                  .register(registry);
              return holder;
            });
    v.set(value);
  }

  private void gauge(String name, String help, long value, String... tags) {
    AtomicLong v =
        values.computeIfAbsent(
            key(name, tags),
            k -> {
              AtomicLong holder = new AtomicLong();
              Gauge.builder(name, holder, AtomicLong::doubleValue)
                  .description(help)
                  .tags(tags)
                  .register(registry);
              return holder;
            });
    v.set(value);
  }

  private static String key(String name, String... tags) {
    return name + String.join("\u0001", tags);
  }
}
