package dev.bucketflow.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.util.Timestamps;
import dev.bucketflow.db.Database;
import dev.bucketflow.db.EmbeddedDatabase;
import dev.bucketflow.ingest.EventIngestWorkflow;
import dev.bucketflow.ingest.EventIngestWorkflowImpl;
import dev.bucketflow.ingest.EventParser;
import dev.bucketflow.ingest.IngestActivities;
import dev.bucketflow.ingest.IngestBatch;
import dev.bucketflow.ingest.IngestClient;
import dev.bucketflow.ingest.IngestCommitListener;
import dev.bucketflow.ingest.IngestOutcome;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.ingest.IngestSettings;
import dev.bucketflow.ingest.SpillSegment;
import dev.bucketflow.shard.Shards;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.client.WorkflowClient;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.testserver.TestServer;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import java.io.PrintWriter;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.HdrHistogram.Histogram;
import org.jooq.DSLContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code bench e2e}: the whole path on {@code dev}'s parts, in one run and one process: a throwaway
 * embedded PostgreSQL, Temporal's Java test server bound to a free port in real time, the real
 * worker ({@link BucketflowWorker}, so its graph comes from {@link Assembly}) with the example
 * buckets and journeys, and a client sending from its own threads through {@link IngestClient}, as
 * {@code send --file} does. Phases, after an untimed warm-up through both paths:
 *
 * <ul>
 *   <li>(s) the Temporal-only ceiling: the same events, signals and shard workflow ({@link
 *       EventIngestWorkflowImpl}: same buffering, batching, byte budget and continue-as-new) on a
 *       bench-only task queue and workflow ids, whose ingest activities apply nothing (they count
 *       and return). Rate = events / (first send .. last batch absorbed);
 *   <li>(e) the full path, sent as fast as the client can: events / (first send .. commit of the
 *       last batch), the highest rate the worker sustains;
 *   <li>(l) latency at half of (e)'s rate, paced in 10 ms ticks: event→transition (signal receipt
 *       in the shard workflow to commit of the transition's transaction, the same span as {@code
 *       bucketflow_event_transition_latency_seconds}) percentiles from an HdrHistogram.
 * </ul>
 *
 * The reconcile cron is set to once a year so that no sweep lands inside a timed phase.
 */
@Command(
    name = "e2e",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "End to end on dev's parts (embedded PostgreSQL, Temporal test server, the worker, a client): "
          + "(s) Temporal-only ceiling, (e) full path at the highest rate, (l) event->transition latency at half of (e)'s rate.",
      "Ends with 'e2e/ceiling ratio: <x.xx>' and 'p99 event->transition at half load: <seconds> s'."
    })
final class BenchE2eCommand implements Callable<Integer> {

  /** The sink's task queue and workflow id prefix: nothing else polls or uses them. */
  static final String SINK_QUEUE = "bucketflow-bench-sink";

  static final String SINK_ID_PREFIX = "bucketflow-bench-sink-";

  @Spec CommandSpec spec;

  @Option(
      names = "--events",
      defaultValue = "40000",
      description = "Events in each of (s) and (e) (default ${DEFAULT-VALUE}).")
  int events;

  @Option(
      names = "--users",
      defaultValue = "20000",
      description = "Distinct users (default ${DEFAULT-VALUE}).")
  int users;

  @Option(
      names = "--latency-seconds",
      defaultValue = "20",
      description = "Length of the paced phase (l) (default ${DEFAULT-VALUE}).")
  double latencySeconds;

  @Option(
      names = "--latency-rate",
      defaultValue = "0",
      description =
          "Pace (l) at this many events/s instead of half of (e)'s rate, to compare two builds at"
              + " the same load (default: half of (e)).")
  double latencyRate;

  @Option(
      names = "--warmup-events",
      defaultValue = "5000",
      description =
          "Untimed warm-up through the sink and through the full path first (default ${DEFAULT-VALUE}).")
  int warmupEvents;

  @Option(
      names = "--shards",
      defaultValue = "8",
      description = "Ingest shards (default ${DEFAULT-VALUE}).")
  int shards;

  @Option(
      names = "--batch-size",
      defaultValue = "500",
      description = "Events per ingest activity at most (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(
      names = "--continue-as-new-after",
      description =
          "History length after which a shard continues as new, as the worker's setting (default: the worker's default).")
  Integer continueAsNewAfter;

  @Option(
      names = "--db-pool",
      defaultValue = "10",
      description = "Worker database pool size, as dev (default ${DEFAULT-VALUE}).")
  int dbPool;

  @Option(
      names = "--buckets",
      defaultValue = "examples/buckets",
      description = "Bucket definitions (default ${DEFAULT-VALUE}).")
  Path buckets;

  @Option(
      names = "--journeys",
      defaultValue = "examples/journeys",
      description = "Journey definitions (default ${DEFAULT-VALUE}).")
  Path journeys;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "Seed of the event stream (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--unpatched-test-server",
      description =
          "Run the test server as the SDK ships it: its time-lock list growing and its task queues serving the newest task first (to measure the fixes; see TestServerFixes).")
  boolean unpatchedTestServer;

  @Option(
      names = "--timeout-seconds",
      defaultValue = "600",
      description =
          "Give up when a phase has not applied everything after this long (default ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  private PrintWriter out;

  /** Receipt-to-commit figures of one phase, fed by the worker's commit listener. */
  static final class Phase {
    final long expected;
    final AtomicLong applied = new AtomicLong();
    final AtomicLong transitioning = new AtomicLong();
    final CountDownLatch done = new CountDownLatch(1);
    volatile long lastNanos;

    /** Event→transition, milliseconds (receipts are workflow time, millisecond resolution). */
    final Histogram transition = new Histogram(TimeUnit.HOURS.toMillis(1), 3);

    final Histogram appliedLatency = new Histogram(TimeUnit.HOURS.toMillis(1), 3);

    Phase(long expected) {
      this.expected = expected;
    }

    void absorbed(int n) {
      lastNanos = System.nanoTime();
      if (applied.addAndGet(n) >= expected) done.countDown();
    }

    synchronized void committed(IngestService.Applied batch, Instant at) {
      long now = at.toEpochMilli();
      for (Instant r : batch.transitionReceipts())
        transition.recordValue(clamp(now - r.toEpochMilli()));
      for (Instant r : batch.appliedReceipts())
        appliedLatency.recordValue(clamp(now - r.toEpochMilli()));
      transitioning.addAndGet(batch.transitionReceipts().size());
    }

    private static long clamp(long ms) {
      return Math.max(0, Math.min(ms, TimeUnit.HOURS.toMillis(1)));
    }

    synchronized double seconds(Histogram h, double percentile) {
      return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
    }
  }

  private final AtomicReference<Phase> current = new AtomicReference<>();

  @Override
  public Integer call() throws Exception {
    check();
    out = spec.commandLine().getOut();
    CliDatabase.quietLibraries();
    quietWorker();
    long wallStart = System.nanoTime();
    java.util.Optional<CpuSteal> stealFrom = CpuSteal.now();
    out.printf(
        Locale.ROOT,
        "bench e2e: %,d events per phase, %,d users, %d shards, batches of at most %d, (l) for %.0f s, "
            + "buckets %s, journeys %s, seed %d%n",
        events,
        users,
        shards,
        batchSize,
        latencySeconds,
        buckets,
        journeys,
        seed);
    out.flush();
    Processes processes = new Processes();
    try {
      EmbeddedDatabase pg = processes.add(EmbeddedDatabase.start(null, 0));
      pg.ensureDatabase("bench_e2e");
      int port = freePort();
      TestServer.PortBoundTestServer server = TestServer.createPortBoundServer(port, true);
      processes.add(server::close);
      if (!unpatchedTestServer) TestServerFixes.apply(server); // as dev does
      String address = "127.0.0.1:" + port;
      WorkflowServiceStubs service = Temporal.connect(address);
      processes.add(service::shutdownNow);
      WorkerConfig config =
          new WorkerConfig(
              address,
              "default",
              "bucketflow",
              shards,
              pg.jdbcUrl("bench_e2e"),
              "postgres",
              "",
              dbPool,
              buckets,
              journeys,
              "*",
              0,
              ingestSettings(),
              Duration.ofSeconds(5),
              "0 0 1 1 *",
              1000,
              EventParser.DEFAULT_MAX_FUTURE_SKEW,
              StickyTimeout.SDK_DEFAULT);
      IngestCommitListener listener =
          (batch, at) -> {
            Phase p = current.get();
            if (p == null) return;
            p.committed(batch, at);
            // Everything the batch consumed: stored, repeated or refused (the stream has none of
            // the latter two).
            p.absorbed(
                batch.outcome().stored()
                    + batch.outcome().duplicates()
                    + batch.outcome().rejected());
          };
      BucketflowWorker worker =
          processes.add(
              BucketflowWorker.start(config, service, UnaryOperator.identity(), listener));
      WorkerFactory sinkFactory = WorkerFactory.newInstance(worker.client());
      processes.add(
          () -> {
            sinkFactory.shutdownNow();
            sinkFactory.awaitTermination(10, TimeUnit.SECONDS);
          });
      Worker sink =
          sinkFactory.newWorker(
              SINK_QUEUE, BucketflowWorker.workerOptions(config, worker.stickyTimeout()));
      sink.registerWorkflowImplementationFactory(
          EventIngestWorkflow.class,
          () -> new EventIngestWorkflowImpl(config.ingest(), !worker.stickyTimeout().isZero()));
      sink.registerActivitiesImplementations(new SinkActivities());
      sinkFactory.start();
      IngestClient ingest = new IngestClient(worker.client(), config.taskQueue(), shards);
      IngestClient sinkClient =
          new IngestClient(worker.client(), SINK_QUEUE, shards, SINK_ID_PREFIX);
      DSLContext settled =
          Database.dsl(processes.add(Database.pool(pg.jdbcUrl("bench_e2e"), "postgres", "", 1)));
      out.println(
          "worker up: Temporal test server " + address + ", embedded PostgreSQL port " + pg.port());
      out.flush();

      Instant now = Instant.now();
      if (warmupEvents > 0) {
        burst(sinkClient, stream(seed + 100, warmupEvents, now), "warm-up (s)");
        burst(ingest, stream(seed + 101, warmupEvents, now), "warm-up (e)");
        out.printf(Locale.ROOT, "warm-up done: %,d events through each path%n", warmupEvents);
        settle(settled, "warm-up (e)");
      }
      out.println();
      Result s = burst(sinkClient, stream(seed, events, now), "(s) Temporal-only ceiling");
      out.printf(
          Locale.ROOT,
          "(s) Temporal-only ceiling: %,d events in %.2f s = %,.0f events/s (first send to last batch absorbed; send took %.2f s)%n",
          events,
          s.seconds(),
          s.rate(),
          s.sendSeconds());
      out.flush();
      Result e = burst(ingest, stream(seed + 1, events, now), "(e) full path");
      out.printf(
          Locale.ROOT,
          "(e) full path: %,d events in %.2f s = %,.0f events/s (first send to last applied; send took %.2f s); "
              + "%,d events made transitions; event->transition p50 %.3f s, p99 %.3f s during the burst%n",
          events,
          e.seconds(),
          e.rate(),
          e.sendSeconds(),
          e.phase().transitioning.get(),
          e.phase().seconds(e.phase().transition, 50),
          e.phase().seconds(e.phase().transition, 99));
      out.flush();
      settle(settled, "(e)");
      double half = latencyRate > 0 ? latencyRate : e.rate() / 2;
      long latencyStartedMillis = System.currentTimeMillis();
      Result l = paced(ingest, half, now);
      Phase lp = l.phase();
      if (latencyRate > 0)
        out.printf(
            Locale.ROOT,
            "(l) is paced at --latency-rate %,.0f events/s, not at half of (e)'s rate%n",
            latencyRate);
      out.printf(
          Locale.ROOT,
          "(l) half load: paced at %,.0f events/s for %.1f s (%,d events, applied at %,.0f events/s); "
              + "%,d events made transitions%n",
          half,
          l.sendSeconds(),
          lp.expected,
          l.rate(),
          lp.transitioning.get());
      out.printf(
          Locale.ROOT,
          "(l) event->transition: p50 %.3f s, p90 %.3f s, p99 %.3f s, max %.3f s; event->applied p50 %.3f s, p99 %.3f s%n",
          lp.seconds(lp.transition, 50),
          lp.seconds(lp.transition, 90),
          lp.seconds(lp.transition, 99),
          lp.seconds(lp.transition, 100),
          lp.seconds(lp.appliedLatency, 50),
          lp.seconds(lp.appliedLatency, 99));
      shardHistoryStats(worker.client(), latencyStartedMillis);
      // What (l) left to the journeys: delivery yields to ingest, so its backlog is the price.
      settle(settled, "(l)");
      out.printf(
          Locale.ROOT,
          "machine: %d cores, max heap %.1f GB; wall %.1f s; %s%n",
          Runtime.getRuntime().availableProcessors(),
          Runtime.getRuntime().maxMemory() / 1e9,
          (System.nanoTime() - wallStart) / 1e9,
          CpuSteal.since(stealFrom));
      if (lp.transitioning.get() == 0) {
        spec.commandLine()
            .getErr()
            .println("error: no event made a transition during (l); no latency to report");
        return 1;
      }
      // Shut down first, so that nothing the shutdown logs can follow the two lines scripts read.
      out.flush();
      processes.closeAll();
      out.printf(Locale.ROOT, "e2e/ceiling ratio: %.2f%n", e.rate() / s.rate());
      out.printf(
          Locale.ROOT,
          "p99 event->transition at half load: %.3f s%n",
          lp.seconds(lp.transition, 99));
      return 0;
    } catch (PhaseTimeout t) {
      spec.commandLine().getErr().println("error: " + t.getMessage());
      return 1;
    } finally {
      out.flush();
      processes.closeAll(); // idempotent: empty after the first call
    }
  }

  private void check() {
    if (events < 1) throw new ParameterException(spec.commandLine(), "--events must be at least 1");
    if (users < 1) throw new ParameterException(spec.commandLine(), "--users must be at least 1");
    if (latencySeconds <= 0)
      throw new ParameterException(spec.commandLine(), "--latency-seconds must be positive");
    if (latencyRate < 0)
      throw new ParameterException(spec.commandLine(), "--latency-rate must not be negative");
    if (warmupEvents < 0)
      throw new ParameterException(spec.commandLine(), "--warmup-events must not be negative");
    if (shards < 1) throw new ParameterException(spec.commandLine(), "--shards must be at least 1");
    if (batchSize < 1)
      throw new ParameterException(spec.commandLine(), "--batch-size must be at least 1");
    try {
      ingestSettings();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(
          spec.commandLine(), "--continue-as-new-after: " + e.getMessage());
    }
  }

  /** The shards' settings: the batch size and continue-as-new length asked for, checked by it. */
  private IngestSettings ingestSettings() {
    return new IngestSettings(
        batchSize,
        continueAsNewAfter != null
            ? continueAsNewAfter
            : IngestSettings.DEFAULTS.continueAsNewAfter());
  }

  /** The worker logs a line per continue-as-new and per journey start: noise at these rates. */
  private static void quietWorker() {
    for (String name : List.of("io.temporal", "dev.bucketflow")) {
      String key = "org.slf4j.simpleLogger.log." + name;
      if (System.getProperty(key) == null) System.setProperty(key, "warn");
    }
  }

  /**
   * Waits until a phase's aftermath is delivered: no transition or journey event left undelivered
   * (parked rows aside), so the journey starts it triggered do not run inside the next timed phase
   * (they made the ceiling after the warm-up a third of what it is on a quiet server).
   */
  private void settle(DSLContext db, String after) throws PhaseTimeout, InterruptedException {
    long t0 = System.nanoTime();
    long deadline = t0 + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    String pending =
        "select (select count(*) from bucket_transitions where dispatched_at is null and parked_at is null)"
            + " + (select count(*) from journey_outbox where dispatched_at is null and parked_at is null)";
    long left = db.fetchOne(pending).get(0, Long.class);
    long atStart = left;
    for (; left > 0; left = db.fetchOne(pending).get(0, Long.class)) {
      if (System.nanoTime() > deadline) {
        throw new PhaseTimeout(
            "after "
                + after
                + ": "
                + left
                + " outbox rows still undelivered after "
                + timeoutSeconds
                + " s");
      }
      Thread.sleep(100);
    }
    out.printf(
        Locale.ROOT,
        "  after %s: outboxes delivered in %.1f s more (untimed; %,d rows were undelivered)%n",
        after,
        (System.nanoTime() - t0) / 1e9,
        atStart);
    out.flush();
  }

  /** What a timed phase measured; {@code seconds} spans first send to last commit. */
  record Result(Phase phase, double seconds, double sendSeconds) {
    double rate() {
      return seconds <= 0 ? 0 : phase.expected / seconds;
    }
  }

  static final class PhaseTimeout extends Exception {
    PhaseTimeout(String message) {
      super(message);
    }
  }

  /**
   * The bench stream ({@link BenchWorkload.EventStream}: a hot twentieth of the users sends half
   * the events; plan, trial_days_left, converted among the properties; app.active and key_action
   * the most frequent events), generated before the clock starts. Occurrences fall in the 60 days
   * before {@code now}, so windowed counts, all-time existence and dormancy all move.
   */
  private List<JsonNode> stream(long streamSeed, int count, Instant now) {
    BenchWorkload.EventStream s =
        new BenchWorkload.EventStream(
            streamSeed,
            users,
            count,
            now.minus(Duration.ofDays(60)),
            now.minus(Duration.ofMinutes(1)));
    List<JsonNode> list = new ArrayList<>(count);
    while (s.hasNext()) list.add(s.next());
    return list;
  }

  /**
   * Sends everything at once (shards in parallel, as {@code send --file}) and waits until applied.
   */
  private Result burst(IngestClient client, List<JsonNode> list, String label) throws Exception {
    Phase phase = new Phase(list.size());
    current.set(phase);
    long t0 = System.nanoTime();
    client.sendAll(list, shards);
    long sent = System.nanoTime();
    await(phase, label);
    current.set(null);
    return new Result(phase, (phase.lastNanos - t0) / 1e9, (sent - t0) / 1e9);
  }

  /**
   * Sends at {@code rate} events/s for {@code --latency-seconds}: a pacer hands each 10 ms tick's
   * due events, grouped by shard, to one sender thread per shard (a shard's events stay in order; a
   * sender that fell behind sends what piled up in one go, as a real client would).
   */
  private Result paced(IngestClient client, double rate, Instant now) throws Exception {
    int count = (int) Math.max(1, Math.round(rate * latencySeconds));
    List<JsonNode> list = stream(seed + 2, count, now);
    Phase phase = new Phase(count);
    List<LinkedBlockingQueue<List<JsonNode>>> queues = new ArrayList<>();
    List<Thread> senders = new ArrayList<>();
    AtomicReference<Throwable> failed = new AtomicReference<>();
    for (int i = 0; i < shards; i++) {
      LinkedBlockingQueue<List<JsonNode>> q = new LinkedBlockingQueue<>();
      queues.add(q);
      int shard = i;
      Thread t =
          new Thread(
              () -> {
                try {
                  while (true) {
                    List<JsonNode> first = q.take();
                    if (first.isEmpty()) return; // end marker
                    List<JsonNode> batch = new ArrayList<>(first);
                    List<List<JsonNode>> more = new ArrayList<>();
                    q.drainTo(more);
                    boolean end = false;
                    for (List<JsonNode> m : more) {
                      if (m.isEmpty()) end = true;
                      else batch.addAll(m);
                    }
                    client.sendShard(shard, batch);
                    if (end) return;
                  }
                } catch (InterruptedException ie) {
                  Thread.currentThread().interrupt();
                } catch (Throwable ex) {
                  failed.compareAndSet(null, ex);
                }
              },
              "bench-sender-" + shard);
      t.setDaemon(true);
      senders.add(t);
      t.start();
    }
    current.set(phase);
    long t0 = System.nanoTime();
    int next = 0;
    while (next < count) {
      long elapsed = System.nanoTime() - t0;
      int due = (int) Math.min(count, Math.floor(rate * elapsed / 1e9));
      if (due > next) {
        List<List<JsonNode>> byShard = new ArrayList<>();
        for (int i = 0; i < shards; i++) byShard.add(new ArrayList<>());
        for (; next < due; next++) byShard.get(client.shardOf(list.get(next))).add(list.get(next));
        for (int i = 0; i < shards; i++)
          if (!byShard.get(i).isEmpty()) queues.get(i).add(byShard.get(i));
      }
      if (failed.get() != null) throw new IllegalStateException("sending failed", failed.get());
      Thread.sleep(10);
    }
    long sent = System.nanoTime();
    for (LinkedBlockingQueue<List<JsonNode>> q : queues) q.add(List.of());
    for (Thread t : senders) t.join(TimeUnit.SECONDS.toMillis(timeoutSeconds));
    if (failed.get() != null) throw new IllegalStateException("sending failed", failed.get());
    await(phase, "(l) half load");
    current.set(null);
    return new Result(phase, (phase.lastNanos - t0) / 1e9, (sent - t0) / 1e9);
  }

  private void await(Phase phase, String label) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    long lastReport = System.nanoTime();
    while (!phase.done.await(1, TimeUnit.SECONDS)) {
      if (System.nanoTime() > deadline) {
        throw new PhaseTimeout(
            label
                + ": only "
                + phase.applied.get()
                + " of "
                + phase.expected
                + " events applied after "
                + timeoutSeconds
                + " s");
      }
      if (System.nanoTime() - lastReport > TimeUnit.SECONDS.toNanos(15)) {
        lastReport = System.nanoTime();
        out.printf(
            Locale.ROOT, "  %s: %,d / %,d applied%n", label, phase.applied.get(), phase.expected);
        out.flush();
      }
    }
  }

  /**
   * The sink's ingest activities: apply nothing, count what arrived. Spilled segments (a shard that
   * continues as new with a large backlog) are kept in memory, so the sink loses nothing either.
   */
  private final class SinkActivities implements IngestActivities {
    private final Map<String, SpillSegment> spilled = new ConcurrentHashMap<>();

    @Override
    public IngestOutcome ingest(IngestBatch batch) {
      batch.releaseSpillOrEmpty().forEach(spilled::remove);
      Phase p = current.get();
      if (p != null) p.absorbed(batch.events().size());
      return new IngestOutcome(false, batch.events().size(), 0, 0, 0, 0);
    }

    @Override
    public void spill(SpillSegment segment) {
      spilled.put(segment.id(), segment);
    }

    @Override
    public SpillSegment loadSpill(String segmentId) {
      SpillSegment s = spilled.get(segmentId);
      return s != null
          ? s
          : new SpillSegment(segmentId, Shards.shardFromWorkflowId(segmentId), List.of());
    }
  }

  /**
   * Where the shards' time went, read back from the server: over every ingest shard run that was
   * open during (l) (and whatever idle time follows it), how long workflow tasks waited in their
   * task queue and ran (started to completed or failed), how long ingest activities waited and ran,
   * how long an event's signal waited for the activity that applies it (each signal counted towards
   * the next activity scheduled after it), and how many continue-as-new tasks the server refused
   * for a signal that arrived meanwhile (UnhandledCommand), with the run time of the task after
   * each refusal (a full replay).
   */
  private void shardHistoryStats(WorkflowClient client, long sinceMillis) {
    List<Long> workflowTaskQueued = new ArrayList<>();
    List<Long> workflowTaskRan = new ArrayList<>();
    List<Long> afterRefusalRan = new ArrayList<>();
    List<Long> failedTaskRan = new ArrayList<>();
    List<Long> continueTaskRan = new ArrayList<>();
    List<Long> activityQueued = new ArrayList<>();
    List<Long> activityRan = new ArrayList<>();
    List<Long> signalToActivity = new ArrayList<>();
    int refused = 0;
    int runs = 0;
    for (int i = 0; i < shards; i++) {
      String workflowId = Shards.workflowId(i);
      String runId = "";
      while (true) {
        List<HistoryEvent> events =
            (runId.isEmpty()
                    ? client.fetchHistory(workflowId)
                    : client.fetchHistory(workflowId, runId))
                .getEvents();
        runs++;
        Map<Long, Long> at = new java.util.HashMap<>(); // event id -> event time, ms
        List<Long> signals = new ArrayList<>();
        boolean afterRefusal = false;
        long taskStartedAt = 0;
        long lastTaskRan = 0;
        for (HistoryEvent e : events) {
          long t = Timestamps.toMillis(e.getEventTime());
          at.put(e.getEventId(), t);
          switch (e.getEventType()) {
            case EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED -> signals.add(t);
            case EVENT_TYPE_ACTIVITY_TASK_SCHEDULED -> {
              for (long s : signals) signalToActivity.add(t - s);
              signals.clear();
            }
            case EVENT_TYPE_WORKFLOW_TASK_STARTED -> {
              taskStartedAt = t;
              addSince(
                  workflowTaskQueued,
                  at,
                  e.getWorkflowTaskStartedEventAttributes().getScheduledEventId(),
                  t);
            }
            // The Java test server leaves a completed or failed task's startedEventId unset:
            // it is the task started last.
            case EVENT_TYPE_WORKFLOW_TASK_COMPLETED -> {
              workflowTaskRan.add(t - taskStartedAt);
              lastTaskRan = t - taskStartedAt;
              if (afterRefusal) afterRefusalRan.add(t - taskStartedAt);
              afterRefusal = false;
            }
            case EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW -> continueTaskRan.add(lastTaskRan);
            case EVENT_TYPE_WORKFLOW_TASK_FAILED -> {
              workflowTaskRan.add(t - taskStartedAt);
              failedTaskRan.add(t - taskStartedAt);
              if (afterRefusal) afterRefusalRan.add(t - taskStartedAt);
              afterRefusal =
                  e.getWorkflowTaskFailedEventAttributes().getCause()
                      == io.temporal.api.enums.v1.WorkflowTaskFailedCause
                          .WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND;
              if (afterRefusal) refused++;
            }
            case EVENT_TYPE_ACTIVITY_TASK_STARTED ->
                addSince(
                    activityQueued,
                    at,
                    e.getActivityTaskStartedEventAttributes().getScheduledEventId(),
                    t);
            case EVENT_TYPE_ACTIVITY_TASK_COMPLETED ->
                addSince(
                    activityRan,
                    at,
                    e.getActivityTaskCompletedEventAttributes().getStartedEventId(),
                    t);
            default -> {}
          }
        }
        var started = events.get(0).getWorkflowExecutionStartedEventAttributes();
        runId = started.getContinuedExecutionRunId();
        if (runId.isEmpty() || Timestamps.toMillis(events.get(0).getEventTime()) < sinceMillis)
          break;
      }
    }
    out.printf(
        Locale.ROOT,
        "  shard histories: %d runs open during (l); %d continue-as-new tasks refused (UnhandledCommand)%n",
        runs,
        refused);
    printMillis("workflow task queued", workflowTaskQueued);
    printMillis("workflow task ran", workflowTaskRan);
    printMillis("refused task ran", failedTaskRan);
    printMillis("task after a refusal ran", afterRefusalRan);
    printMillis("continue-as-new task ran", continueTaskRan);
    printMillis("ingest activity queued", activityQueued);
    printMillis("ingest activity ran", activityRan);
    printMillis("signal -> its activity scheduled", signalToActivity);
    out.flush();
  }

  /** Adds {@code t} minus the time of event {@code id}, when that event is in this history. */
  private static void addSince(List<Long> to, Map<Long, Long> at, long id, long t) {
    Long from = at.get(id);
    if (from != null) to.add(t - from);
  }

  private void printMillis(String what, List<Long> values) {
    if (values.isEmpty()) return;
    List<Long> v = new ArrayList<>(values);
    java.util.Collections.sort(v);
    out.printf(
        Locale.ROOT,
        "  shard histories: %-33s n=%,6d  p50 %,6d ms  p99 %,6d ms  max %,6d ms%n",
        what,
        v.size(),
        v.get(v.size() / 2),
        v.get((int) Math.min(v.size() - 1, Math.floor(v.size() * 0.99))),
        v.get(v.size() - 1));
  }

  private static int freePort() throws java.io.IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
