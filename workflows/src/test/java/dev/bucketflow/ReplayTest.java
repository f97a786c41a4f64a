package dev.bucketflow;

/*
 * Replay (determinism / backward-compatibility) tests of the three long-lived workflows.
 *
 * 1. Live: each test runs a realistic execution in a TestWorkflowEnvironment, fetches its
 *    history from the test server and replays it against the current implementation. This
 *    catches non-determinism inside today's code (e.g. a branch on wall-clock time or a
 *    HashMap order), but NOT a change of shape, since history and code are from the same build.
 *
 * 2. Golden: src/test/resources/histories/*.json were recorded from the implementation as it was
 *    when they were written, and are replayed on every build. A change of workflow shape
 *    (another activity or timer, a reordered call, a new upsert, a different continue-as-new
 *    decision) that would break executions already running in production fails these tests.
 *    The fix for such a failure is to make the change replay-compatible (Workflow.getVersion,
 *    keeping the old branch), NOT to regenerate the file.
 *
 *    Regenerate (rewrites the files under src/test/resources/histories; review and commit them):
 *
 *      mvn -B -q -pl workflows -am test -Dtest=ReplayTest \
 *          -Dsurefire.failIfNoSpecifiedTests=false -Dbucketflow.writeHistories=reconcile-v2
 *
 *    (=ingest-deferred, =ingest-staggered, =expiry, =expiry-v2, =reconcile-v3 or a comma list writes only those;
 *    =true writes all. Older shapes can no longer be recorded: reconcile.json and reconcile-v2.json
 *    (before resumable-sweep and event-retention), ingest-*-run.json (before byte-budget and
 *    continue-from-cache), ingest-budget-*.json (before continue-from-cache).) The golden replay tests are skipped in that run; every written file is read back
 *    and replayed before the run passes.
 *
 *    When: only to ADD a history for a new workflow or a new code path (prefer a new file name,
 *    e.g. expiry-v2.json, and keep the old file so the old shape stays covered while it may still
 *    be running), or to drop a shape once no execution of it can exist anymore (ingest shards
 *    never end: their current run is always replayed by the next worker; expiry timers can live
 *    for the member's whole dwell; reconcile runs finish within minutes). NEVER regenerate to make
 *    a failing golden test pass for a change that must stay compatible with running workflows.
 *
 *    The ingest histories were recorded with INGEST_SETTINGS below. A run records the settings it
 *    uses (side-effect marker), so its replay must not depend on the worker's settings:
 *    goldenIngestReplaysWhateverTheWorkerIsConfiguredWith checks exactly that.
 */

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.event.StorageMaintenance;
import dev.bucketflow.expiry.ExpiryActivities;
import dev.bucketflow.expiry.ExpiryCheck;
import dev.bucketflow.expiry.ExpiryRequest;
import dev.bucketflow.expiry.ExpiryWorkflow;
import dev.bucketflow.expiry.ExpiryWorkflowImpl;
import dev.bucketflow.ingest.EventIngestWorkflow;
import dev.bucketflow.ingest.EventIngestWorkflowImpl;
import dev.bucketflow.ingest.InMemorySpill;
import dev.bucketflow.ingest.IngestBatch;
import dev.bucketflow.ingest.IngestClient;
import dev.bucketflow.ingest.IngestOutcome;
import dev.bucketflow.ingest.IngestSettings;
import dev.bucketflow.ingest.IngestStats;
import dev.bucketflow.reconcile.BucketSweep;
import dev.bucketflow.reconcile.ReconcileActivities;
import dev.bucketflow.reconcile.ReconcileReport;
import dev.bucketflow.reconcile.ReconcileRequest;
import dev.bucketflow.reconcile.ReconcileWorkflow;
import dev.bucketflow.reconcile.ReconcileWorkflowImpl;
import dev.bucketflow.reconcile.SweepCursor;
import dev.bucketflow.reconcile.SweepProgress;
import dev.bucketflow.reconcile.SweepStep;
import dev.bucketflow.shard.Shards;
import io.temporal.activity.ActivityOptions;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.WorkflowExecutionHistory;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.WorkflowReplayer;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerOptions;
import io.temporal.workflow.Workflow;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

class ReplayTest {

  static final String WRITE_PROPERTY = "bucketflow.writeHistories";
  static final String QUEUE = "bucketflow";

  /** The settings the golden ingest histories were recorded with. Never change them. */
  static final IngestSettings INGEST_SETTINGS = new IngestSettings(20, 30);

  static final String INGEST_FIRST_RUN = "histories/ingest-first-run.json";
  static final String INGEST_CONTINUED_RUN = "histories/ingest-continued-run.json";

  /** Recorded with the byte-budget version on (getVersion marker, byte-bounded batches). */
  static final String INGEST_BUDGET_FIRST_RUN = "histories/ingest-budget-first-run.json";

  static final String INGEST_BUDGET_CONTINUED_RUN = "histories/ingest-budget-continued-run.json";

  /**
   * The continue-from-cache shape: a continue-as-new refused (UnhandledCommand), one batch applied
   * in the replayed task, then continue-as-new from the cached one (version and side-effect
   * markers).
   */
  static final String INGEST_DEFERRED_CONTINUE = "histories/ingest-deferred-continue.json";

  /**
   * Shard 7's first run under the stagger (recorded with STAGGER_SETTINGS): past the plain
   * threshold at 160 events, continued as new past 230. Replays as bucketflow-ingest-7 only.
   */
  static final String INGEST_STAGGERED_CONTINUE = "histories/ingest-staggered-continue.json";

  static final String EXPIRY = "histories/expiry.json";

  /** The signal-aware shape: version marker, a timer cancelled by an earlier deadline signal. */
  static final String EXPIRY_V2 = "histories/expiry-v2.json";

  /** Recorded before resumable-sweep: one ReconcileBucket activity per bucket. */
  static final String RECONCILE = "histories/reconcile.json";

  /**
   * The resumable-sweep shape: version marker, each bucket swept in ReconcileBucketPart activities.
   */
  static final String RECONCILE_V2 = "histories/reconcile-v2.json";

  /**
   * The event-retention shape: a second marker, then MaintainEventStorage after the outbox
   * backstop.
   */
  static final String RECONCILE_V3 = "histories/reconcile-v3.json";

  // ---------------------------------------------------------------- realistic executions

  /** Applies every batch once, like the real activity (batch ids are recorded). */
  static final class RecordingIngest extends InMemorySpill {
    final List<String> batchIds = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger events = new AtomicInteger();

    @Override
    public IngestOutcome ingest(IngestBatch batch) {
      batchIds.add(batch.batchId());
      events.addAndGet(batch.events().size());
      return new IngestOutcome(false, batch.events().size(), 0, 0, batch.events().size() / 5, 0);
    }
  }

  /** All runs of one ingest shard, first to last, as the test server recorded them. */
  record IngestExecution(
      String workflowId, List<WorkflowExecutionHistory> runs, IngestStats stats) {}

  static ObjectNode event(String user, String name, int seq) {
    ObjectNode e = JsonNodeFactory.instance.objectNode();
    e.put("userId", user)
        .put("event", name)
        .putObject("properties")
        .put("seq", seq)
        .put("plan", "trial");
    return e;
  }

  static IngestExecution runIngest(TestWorkflowEnvironment env) throws Exception {
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationFactory(
        EventIngestWorkflow.class, () -> new EventIngestWorkflowImpl(INGEST_SETTINGS));
    RecordingIngest activities = new RecordingIngest();
    worker.registerActivitiesImplementations(activities);
    env.start();
    WorkflowClient client = env.getWorkflowClient();
    IngestClient ingest = new IngestClient(client, QUEUE, 1); // one shard: bucketflow-ingest-0
    String workflowId = Shards.workflowId(0);
    EventIngestWorkflow shard = client.newWorkflowStub(EventIngestWorkflow.class, workflowId);

    // Traffic in waves, each drained before the next arrives: each wave pushes the history past
    // the threshold, so the shard continues as new (carrying what is left of the wave). Progress is
    // watched from the activity side and the server's history, not by polling the stats query:
    // with the query polled while the shard continued as new, the Java test server was seen to
    // keep closed runs' histories without their closing event (the runs themselves carried on
    // correctly), and such a history is no golden file.
    int seq = 0;
    List<JsonNode> bulk = new ArrayList<>();
    for (int i = 0; i < 110; i++) bulk.add(event("u" + (i % 9), "app.active", ++seq));
    assertThat(ingest.sendAll(bulk, 1)).isEqualTo(2); // "events" x2: 100 + 10
    awaitIdle(client, workflowId, activities, seq);
    IngestStats first = shard.stats();
    assertThat(first.shard()).isZero();
    assertThat(first.applied()).isEqualTo(seq);
    assertThat(first.pending()).isZero();
    for (int i = 0; i < 5; i++) ingest.send(event("u" + i, "key_action", ++seq)); // "event" x5
    bulk.clear();
    for (int i = 0; i < 85; i++) bulk.add(event("u" + (i % 11), "app.active", ++seq));
    assertThat(ingest.sendAll(bulk, 1)).isEqualTo(1);
    awaitIdle(client, workflowId, activities, seq);
    bulk.clear();
    for (int i = 0; i < 100; i++) bulk.add(event("u" + (i % 7), "app.active", ++seq));
    assertThat(ingest.sendAll(bulk, 1)).isEqualTo(1);
    int total = seq;
    awaitIdle(client, workflowId, activities, total);
    assertThat(activities.events).hasValue(total);

    List<WorkflowExecutionHistory> runs = runChain(client, workflowId);
    IngestStats stats = shard.stats();
    assertThat(stats.applied()).isEqualTo(total);
    assertThat(stats.pending()).isZero();
    assertThat(stats.lastBatchAt()).isNotNull();
    return new IngestExecution(workflowId, runs, stats);
  }

  /**
   * Signals the shard from inside its next {@code races} continue-as-new calls (live, not in
   * replay), so that the server refuses each of those tasks with UnhandledCommand — the race a
   * steady signal stream makes likely. The signal is an event of user {@code racer}.
   */
  static final class ContinueAsNewRacer
      extends io.temporal.common.interceptors.WorkerInterceptorBase {
    final AtomicInteger races;
    final AtomicInteger raced = new AtomicInteger();
    // Its own thread: the common pool may have a single one on a 2-core machine.
    final java.util.concurrent.ExecutorService sender =
        java.util.concurrent.Executors.newSingleThreadExecutor();
    volatile WorkflowClient client;

    ContinueAsNewRacer(int races) {
      this.races = new AtomicInteger(races);
    }

    @Override
    public io.temporal.common.interceptors.WorkflowInboundCallsInterceptor interceptWorkflow(
        io.temporal.common.interceptors.WorkflowInboundCallsInterceptor next) {
      return new io.temporal.common.interceptors.WorkflowInboundCallsInterceptorBase(next) {
        @Override
        public void init(
            io.temporal.common.interceptors.WorkflowOutboundCallsInterceptor outbound) {
          super.init(
              new io.temporal.common.interceptors.WorkflowOutboundCallsInterceptorBase(outbound) {
                @Override
                public void continueAsNew(ContinueAsNewInput input) {
                  if (!Workflow.isReplaying() && races.getAndDecrement() > 0) {
                    // Blocking I/O in workflow code, on another thread (a client refuses the
                    // workflow thread): a test device only. The server records the signal while
                    // this task is still running.
                    String id = Workflow.getInfo().getWorkflowId();
                    ObjectNode racing = event("racer", "key_action", raced.incrementAndGet());
                    java.util.concurrent.CompletableFuture.runAsync(
                            () -> client.newUntypedWorkflowStub(id).signal("event", racing), sender)
                        .join();
                  }
                  super.continueAsNew(input);
                }
              });
        }
      };
    }
  }

  /** What {@link #runRacedIngest} saw: the shard's runs and the racer. */
  record RacedIngest(List<WorkflowExecutionHistory> runs, ContinueAsNewRacer racer, int total) {}

  /**
   * One wave of 110 events into a shard with INGEST_SETTINGS whose first {@code races}
   * continue-as-new attempts are raced by a signal; returns once everything (racer events too) is
   * applied.
   */
  static RacedIngest runRacedIngest(int races) throws Exception {
    return runRacedIngest(races, true);
  }

  static RacedIngest runRacedIngest(int races, boolean workerCachesRuns) throws Exception {
    ContinueAsNewRacer racer = new ContinueAsNewRacer(races);
    try (TestWorkflowEnvironment env =
        TestWorkflowEnvironment.newInstance(
            io.temporal.testing.TestEnvironmentOptions.newBuilder()
                .setWorkerFactoryOptions(
                    io.temporal.worker.WorkerFactoryOptions.newBuilder()
                        .setWorkerInterceptors(racer)
                        .build())
                .build())) {
      Worker worker = env.newWorker(QUEUE);
      worker.registerWorkflowImplementationFactory(
          EventIngestWorkflow.class,
          () -> new EventIngestWorkflowImpl(INGEST_SETTINGS, workerCachesRuns));
      RecordingIngest activities = new RecordingIngest();
      worker.registerActivitiesImplementations(activities);
      env.start();
      WorkflowClient client = env.getWorkflowClient();
      racer.client = client;
      IngestClient ingest = new IngestClient(client, QUEUE, 1);
      String workflowId = Shards.workflowId(0);
      List<JsonNode> bulk = new ArrayList<>();
      for (int i = 0; i < 110; i++) bulk.add(event("u" + (i % 9), "app.active", i + 1));
      ingest.sendAll(bulk, 1);
      awaitReal(
          () ->
              racer.races.get() <= 0
                  && activities.events.get() >= 110 + racer.raced.get()
                  && betweenTasks(client.fetchHistory(workflowId)));
      List<WorkflowExecutionHistory> runs = runChain(client, workflowId);
      assertThat(activities.events).hasValue(110 + racer.raced.get());
      return new RacedIngest(runs, racer, 110 + racer.raced.get());
    } finally {
      racer.sender.shutdownNow();
    }
  }

  /** No workflow task scheduled or running: the last one completed, and nothing came since. */
  static boolean betweenTasks(WorkflowExecutionHistory run) {
    List<HistoryEvent> events = run.getEvents();
    for (int i = events.size() - 1; i >= 0; i--) {
      HistoryEvent e = events.get(i);
      if (e.hasWorkflowTaskCompletedEventAttributes()) return true;
      if (!e.hasMarkerRecordedEventAttributes()) return false;
    }
    return false;
  }

  /** The run whose continue-as-new was refused first. */
  static WorkflowExecutionHistory refusedRun(RacedIngest raced) {
    return raced.runs().stream()
        .filter(r -> count(r, ReplayTest::isUnhandledCommand) > 0)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no continue-as-new was refused"));
  }

  static boolean isUnhandledCommand(HistoryEvent e) {
    return e.hasWorkflowTaskFailedEventAttributes()
        && e.getWorkflowTaskFailedEventAttributes().getCause()
            == io.temporal.api.enums.v1.WorkflowTaskFailedCause
                .WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND;
  }

  /** Side-effect markers whose recorded value is {@code false}: deferred continue-as-new. */
  static long deferrals(WorkflowExecutionHistory run) {
    return run.getEvents().stream()
        .filter(HistoryEvent::hasMarkerRecordedEventAttributes)
        .map(HistoryEvent::getMarkerRecordedEventAttributes)
        .filter(m -> m.getMarkerName().equals("SideEffect"))
        .filter(
            m ->
                m.getDetailsMap()
                    .get("data")
                    .getPayloads(0)
                    .getData()
                    .toStringUtf8()
                    .equals("false"))
        .count();
  }

  /** Extends once, then lets the member leave; records the requests it saw. */
  static final class ExtendOnceExpiry implements ExpiryActivities {
    final ConcurrentLinkedQueue<ExpiryRequest> seen = new ConcurrentLinkedQueue<>();

    @Override
    public ExpiryCheck leaveOrExtend(ExpiryRequest armed) {
      seen.add(armed);
      return seen.size() == 1
          ? ExpiryCheck.extended(armed.deadlineMillis() + Duration.ofHours(6).toMillis())
          : ExpiryCheck.left();
    }
  }

  /** Every event applied, and the shard's current run is between workflow tasks. */
  static void awaitIdle(
      WorkflowClient client, String workflowId, RecordingIngest activities, int total)
      throws InterruptedException {
    awaitReal(
        () ->
            activities.events.get() >= total
                && client
                    .fetchHistory(workflowId)
                    .getLastEvent()
                    .hasWorkflowTaskCompletedEventAttributes());
  }

  static WorkflowExecutionHistory runExpiry(TestWorkflowEnvironment env) throws Exception {
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(ExpiryWorkflowImpl.class);
    ExtendOnceExpiry activities = new ExtendOnceExpiry();
    worker.registerActivitiesImplementations(activities);
    env.start();
    WorkflowClient client = env.getWorkflowClient();
    long deadline = env.currentTimeMillis() + Duration.ofHours(24).toMillis();
    ExpiryRequest request = new ExpiryRequest("trial-idle", "u42", 1, deadline);
    String workflowId = ExpiryWorkflow.workflowId("trial-idle", "u42", 1);
    ExpiryWorkflow workflow =
        client.newWorkflowStub(
            ExpiryWorkflow.class,
            WorkflowOptions.newBuilder().setWorkflowId(workflowId).setTaskQueue(QUEUE).build());
    WorkflowClient.start(workflow::run, request);
    assertThat(workflow.deadline()).isEqualTo(java.time.Instant.ofEpochMilli(deadline).toString());
    WorkflowStub.fromTyped(workflow).getResult(Void.class);
    assertThat(activities.seen).hasSize(2);
    return client.fetchHistory(workflowId);
  }

  /** A watch armed 24 h out, signalled an earlier deadline (2 h), extended once, then left. */
  static WorkflowExecutionHistory runExpiryFollowingSignal(TestWorkflowEnvironment env)
      throws Exception {
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(ExpiryWorkflowImpl.class);
    ExtendOnceExpiry activities = new ExtendOnceExpiry();
    worker.registerActivitiesImplementations(activities);
    env.start();
    WorkflowClient client = env.getWorkflowClient();
    long deadline = env.currentTimeMillis() + Duration.ofHours(24).toMillis();
    long earlier = env.currentTimeMillis() + Duration.ofHours(2).toMillis();
    ExpiryRequest request = new ExpiryRequest("trial-idle", "u43", 1, deadline);
    String workflowId = ExpiryWorkflow.workflowId("trial-idle", "u43", 1);
    ExpiryWorkflow workflow =
        client.newWorkflowStub(
            ExpiryWorkflow.class,
            WorkflowOptions.newBuilder().setWorkflowId(workflowId).setTaskQueue(QUEUE).build());
    WorkflowClient.start(workflow::run, request);
    // Signal only once the first timer is started: signals delivered with the first workflow task
    // find no timer to cancel, and the history would lack the TimerCanceled this shape records.
    awaitReal(
        () ->
            client.fetchHistory(workflowId).getEvents().stream()
                .anyMatch(HistoryEvent::hasTimerStartedEventAttributes));
    workflow.deadlineMoved(deadline + 1); // later: ignored
    workflow.deadlineMoved(earlier);
    WorkflowStub.fromTyped(workflow).getResult(Void.class);
    assertThat(activities.seen)
        .extracting(ExpiryRequest::deadlineMillis)
        .containsExactly(earlier, earlier + Duration.ofHours(6).toMillis());
    return client.fetchHistory(workflowId);
  }

  /** Two buckets: one sweeps, one keeps failing until its retries run out. */
  static final class TwoBucketReconcile implements ReconcileActivities {
    @Override
    public List<String> bucketsToSweep(String onlyBucket) {
      return List.of("went-dormant", "power-users");
    }

    @Override
    public BucketSweep sweepBucket(String bucketId) {
      if (bucketId.equals("power-users"))
        throw new IllegalStateException("lock timeout on power-users");
      return new BucketSweep(bucketId, 4, 1, 0, 2, false, 3, null);
    }

    /**
     * went-dormant in three parts (max dwell, then two of clock leaves); power-users keeps failing.
     */
    @Override
    public SweepProgress sweepBucketPart(SweepStep step) {
      if (step.bucketId().equals("power-users"))
        throw new IllegalStateException("lock timeout on power-users");
      SweepCursor from = step.from();
      return switch (from.phase()) {
        case MAX_DWELL ->
            new SweepProgress(
                SweepCursor.at(SweepCursor.Phase.CLOCK_LEAVES),
                new BucketSweep(step.bucketId(), 0, 1, 0, 0, false, 0, null));
        case CLOCK_LEAVES ->
            from.after().isEmpty()
                ? new SweepProgress(
                    from.after("u500"),
                    new BucketSweep(step.bucketId(), 3, 0, 0, 0, false, 0, null))
                : new SweepProgress(
                    SweepCursor.at(SweepCursor.Phase.DONE),
                    new BucketSweep(step.bucketId(), 1, 0, 0, 2, false, 3, null));
        default -> throw new IllegalStateException("unexpected cursor " + from);
      };
    }

    @Override
    public int redispatchOutbox() {
      return 5;
    }

    @Override
    public StorageMaintenance maintainEventStorage() {
      return new StorageMaintenance(
          List.of("user_events_p20260316"), List.of("user_events_p20260301"), 0, 2, 7, List.of());
    }
  }

  static WorkflowExecutionHistory runReconcile(TestWorkflowEnvironment env) {
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(ReconcileWorkflowImpl.class);
    worker.registerActivitiesImplementations(new TwoBucketReconcile());
    env.start();
    WorkflowClient client = env.getWorkflowClient();
    ReconcileWorkflow workflow =
        client.newWorkflowStub(
            ReconcileWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId("bucketflow-reconcile-manual")
                .setTaskQueue(QUEUE)
                .build());
    ReconcileReport report = workflow.run(ReconcileRequest.all());
    assertThat(report.buckets())
        .extracting(BucketSweep::bucketId)
        .containsExactly("went-dormant", "power-users");
    assertThat(report.buckets().get(0))
        .isEqualTo(new BucketSweep("went-dormant", 4, 1, 0, 2, false, 3, null));
    assertThat(report.buckets().get(1).error()).contains("lock timeout on power-users");
    assertThat(report.redispatched()).isEqualTo(5);
    return client.fetchHistory("bucketflow-reconcile-manual");
  }

  // ---------------------------------------------------------------- live replays

  @Test
  void ingestRunsReplay() throws Exception {
    IngestExecution execution;
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      execution = runIngest(env);
    }
    assertThat(execution.stats().applied()).isEqualTo(300);
    assertThat(execution.runs().size())
        .as("runs (continued as new at least once)")
        .isGreaterThanOrEqualTo(2);
    for (WorkflowExecutionHistory run : execution.runs().subList(0, execution.runs().size() - 1)) {
      assertThat(run.getLastEvent().hasWorkflowExecutionContinuedAsNewEventAttributes()).isTrue();
    }
    for (WorkflowExecutionHistory run : execution.runs()) {
      replayIngest(run);
    }
  }

  /**
   * A refused continue-as-new is not simply retried from the replayed task (where the next signal
   * would surely race it again): that task applies a batch, and the cached task after it continues
   * as new. Nothing is lost or reordered, and the history replays.
   */
  @Test
  void aRefusedContinueAsNewAppliesABatchBeforeTheCachedTaskContinues() throws Exception {
    RacedIngest raced = runRacedIngest(1);
    assertThat(raced.racer().raced).hasValue(1);
    WorkflowExecutionHistory run = refusedRun(raced);
    List<HistoryEvent> events = run.getEvents();
    int failed = 0;
    while (!isUnhandledCommand(events.get(failed))) failed++;
    List<HistoryEvent> after = events.subList(failed + 1, events.size());
    assertThat(after.get(after.size() - 1).hasWorkflowExecutionContinuedAsNewEventAttributes())
        .isTrue();
    assertThat(after.stream().filter(HistoryEvent::hasActivityTaskScheduledEventAttributes))
        .as("a batch applied between the refusal and the continue-as-new")
        .hasSize(1);
    assertThat(count(run, ReplayTest::isUnhandledCommand)).isEqualTo(1);
    assertThat(deferrals(run)).as("deferred once: the next task was served from the cache").isOne();
    for (WorkflowExecutionHistory r : raced.runs()) replayIngest(r);
  }

  /**
   * Deferring is bounded: with every attempt raced, a run defers five times, then continues as new
   * from whatever task it is in (here refused twice more), and still gets there.
   */
  /**
   * A worker without sticky execution replays every task in full: it does not wait for a cached one
   * (there is none), it retries the continue-as-new at once.
   */
  @Test
  void aWorkerWithoutStickyExecutionDoesNotDefer() throws Exception {
    RacedIngest raced = runRacedIngest(1, false);
    WorkflowExecutionHistory run = refusedRun(raced);
    assertThat(count(run, ReplayTest::isUnhandledCommand)).isEqualTo(1);
    assertThat(deferrals(run)).isZero();
    assertThat(run.getLastEvent().hasWorkflowExecutionContinuedAsNewEventAttributes()).isTrue();
    for (WorkflowExecutionHistory r : raced.runs()) replayIngest(r);
  }

  @Test
  void continueAsNewIsDeferredAtMostFiveTimes() throws Exception {
    RacedIngest raced = runRacedIngest(7);
    WorkflowExecutionHistory run = refusedRun(raced);
    assertThat(count(run, ReplayTest::isUnhandledCommand)).isEqualTo(7);
    assertThat(deferrals(run)).isEqualTo(5);
    assertThat(run.getLastEvent().hasWorkflowExecutionContinuedAsNewEventAttributes()).isTrue();
    for (WorkflowExecutionHistory r : raced.runs()) replayIngest(r);
  }

  /**
   * Shards under the same traffic do not continue as new together: shard 7 runs 7/16 of the
   * threshold longer than shard 0, and both chains replay.
   */
  @Test
  void shardsContinueAsNewAtStaggeredLengths() throws Exception {
    Map<Integer, List<WorkflowExecutionHistory>> runs = runStaggeredShards();
    long stagger7 = 160 + EventIngestWorkflowImpl.staggerOf(7, 160);
    assertThat(stagger7).isEqualTo(230);
    List<Long> closed0 = closedRunLengths(runs.get(0));
    List<Long> closed7 = closedRunLengths(runs.get(7));
    assertThat(closed0).isNotEmpty().allSatisfy(n -> assertThat(n).isBetween(160L, 229L));
    assertThat(closed7).isNotEmpty().allSatisfy(n -> assertThat(n).isGreaterThanOrEqualTo(230L));
    for (List<WorkflowExecutionHistory> chain : runs.values()) {
      for (WorkflowExecutionHistory run : chain) {
        withIngestReplayWorker(
            STAGGER_SETTINGS, worker -> WorkflowReplayer.replayWorkflowExecution(run, worker));
      }
    }
  }

  static final IngestSettings STAGGER_SETTINGS = new IngestSettings(100, 160);

  /** 400 events each into shards 0 and 7 with STAGGER_SETTINGS, in waves; both run chains. */
  static Map<Integer, List<WorkflowExecutionHistory>> runStaggeredShards() throws Exception {
    IngestSettings settings = STAGGER_SETTINGS;
    Map<Integer, List<WorkflowExecutionHistory>> runs = new LinkedHashMap<>();
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      Worker worker = env.newWorker(QUEUE);
      worker.registerWorkflowImplementationFactory(
          EventIngestWorkflow.class, () -> new EventIngestWorkflowImpl(settings));
      RecordingIngest activities = new RecordingIngest();
      worker.registerActivitiesImplementations(activities);
      env.start();
      WorkflowClient client = env.getWorkflowClient();
      // In waves, each applied before the next is sent: no signal races a continue-as-new here.
      for (int wave = 0; wave < 40; wave++) {
        for (int shard : List.of(0, 7)) {
          for (int i = 0; i < 10; i++) {
            client
                .newUntypedWorkflowStub(
                    EventIngestWorkflow.TYPE,
                    WorkflowOptions.newBuilder()
                        .setWorkflowId(Shards.workflowId(shard))
                        .setTaskQueue(QUEUE)
                        .build())
                .signalWithStart(
                    "event",
                    new Object[] {event("u" + shard, "app.active", wave * 10 + i)},
                    new Object[] {});
          }
        }
        int sent = (wave + 1) * 20;
        awaitReal(
            () ->
                activities.events.get() >= sent
                    && betweenTasks(client.fetchHistory(Shards.workflowId(0)))
                    && betweenTasks(client.fetchHistory(Shards.workflowId(7))));
      }
      assertThat(activities.events).hasValue(800);
      for (int shard : List.of(0, 7)) runs.put(shard, runChain(client, Shards.workflowId(shard)));
    }
    return runs;
  }

  /** Event id of each closed run's continue-as-new: the length it reached. */
  static List<Long> closedRunLengths(List<WorkflowExecutionHistory> chain) {
    return chain.stream()
        .filter(r -> r.getLastEvent().hasWorkflowExecutionContinuedAsNewEventAttributes())
        .map(r -> r.getLastEvent().getEventId())
        .toList();
  }

  /** Every run of {@code workflowId}, first to current. */
  static List<WorkflowExecutionHistory> runChain(WorkflowClient client, String workflowId) {
    List<WorkflowExecutionHistory> runs = new ArrayList<>();
    WorkflowExecutionHistory run = client.fetchHistory(workflowId);
    runs.add(0, run);
    String previous = startedOf(run).getContinuedExecutionRunId();
    while (!previous.isEmpty()) {
      run = client.fetchHistory(workflowId, previous);
      runs.add(0, run);
      previous = startedOf(run).getContinuedExecutionRunId();
    }
    return runs;
  }

  @Test
  void expiryReplays() throws Exception {
    WorkflowExecutionHistory history;
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      history = runExpiry(env);
    }
    assertThat(count(history, HistoryEvent::hasTimerStartedEventAttributes)).isEqualTo(2);
    replay(history, ExpiryWorkflowImpl.class);
  }

  @Test
  void expiryFollowingASignalReplays() throws Exception {
    WorkflowExecutionHistory history;
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      history = runExpiryFollowingSignal(env);
    }
    assertThat(count(history, HistoryEvent::hasTimerCanceledEventAttributes)).isEqualTo(1);
    assertThat(count(history, HistoryEvent::hasMarkerRecordedEventAttributes)).isEqualTo(1);
    replay(history, ExpiryWorkflowImpl.class);
  }

  @Test
  void reconcileReplays() throws Exception {
    WorkflowExecutionHistory history;
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      history = runReconcile(env);
    }
    assertThat(count(history, HistoryEvent::hasActivityTaskFailedEventAttributes)).isEqualTo(1);
    assertThat(count(history, HistoryEvent::hasMarkerRecordedEventAttributes))
        .as("resumable-sweep, event-retention")
        .isEqualTo(2);
    assertThat(
            count(
                history,
                e ->
                    e.hasActivityTaskScheduledEventAttributes()
                        && e.getActivityTaskScheduledEventAttributes()
                            .getActivityType()
                            .getName()
                            .equals("MaintainEventStorage")))
        .isEqualTo(1);
    assertThat(
            count(
                history,
                e ->
                    e.hasActivityTaskScheduledEventAttributes()
                        && e.getActivityTaskScheduledEventAttributes()
                            .getActivityType()
                            .getName()
                            .equals("ReconcileBucketPart")))
        .as("went-dormant in three parts, power-users in one")
        .isEqualTo(4);
    replay(history, ReconcileWorkflowImpl.class);
  }

  // ---------------------------------------------------------------- golden histories

  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenIngestFirstRunReplays() throws Exception {
    requireGolden(INGEST_FIRST_RUN);
    withIngestReplayWorker(
        worker -> WorkflowReplayer.replayWorkflowExecutionFromResource(INGEST_FIRST_RUN, worker));
  }

  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenIngestContinuedRunReplays() throws Exception {
    requireGolden(INGEST_CONTINUED_RUN);
    withIngestReplayWorker(
        worker ->
            WorkflowReplayer.replayWorkflowExecutionFromResource(INGEST_CONTINUED_RUN, worker));
  }

  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenIngestBudgetRunsReplay() throws Exception {
    requireGolden(INGEST_BUDGET_FIRST_RUN);
    requireGolden(INGEST_BUDGET_CONTINUED_RUN);
    withIngestReplayWorker(
        worker -> {
          WorkflowReplayer.replayWorkflowExecutionFromResource(INGEST_BUDGET_FIRST_RUN, worker);
          WorkflowReplayer.replayWorkflowExecutionFromResource(INGEST_BUDGET_CONTINUED_RUN, worker);
        });
  }

  /** A redeploy with other IngestSettings must not change how an open shard run replays. */
  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenIngestReplaysWhateverTheWorkerIsConfiguredWith() throws Exception {
    requireGolden(INGEST_FIRST_RUN);
    requireGolden(INGEST_CONTINUED_RUN);
    for (IngestSettings other : List.of(IngestSettings.DEFAULTS, new IngestSettings(3, 10))) {
      try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
        Worker worker = replayWorker(env);
        worker.registerWorkflowImplementationFactory(
            EventIngestWorkflow.class, () -> new EventIngestWorkflowImpl(other));
        WorkflowReplayer.replayWorkflowExecutionFromResource(INGEST_FIRST_RUN, worker);
        WorkflowReplayer.replayWorkflowExecutionFromResource(INGEST_CONTINUED_RUN, worker);
      }
    }
  }

  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenIngestDeferredContinueReplays() throws Exception {
    requireGolden(INGEST_DEFERRED_CONTINUE);
    // With the shard's workflow id: a history read from JSON has none (the Java test server does
    // not record it), and the shard number decides the continue-as-new stagger.
    WorkflowExecutionHistory golden = goldenIngest(INGEST_DEFERRED_CONTINUE, Shards.workflowId(0));
    withIngestReplayWorker(worker -> WorkflowReplayer.replayWorkflowExecution(golden, worker));
  }

  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenIngestStaggeredContinueReplays() throws Exception {
    requireGolden(INGEST_STAGGERED_CONTINUE);
    WorkflowExecutionHistory golden = goldenIngest(INGEST_STAGGERED_CONTINUE, Shards.workflowId(7));
    assertThat(golden.getLastEvent().getEventId()).isGreaterThanOrEqualTo(230);
    withIngestReplayWorker(worker -> WorkflowReplayer.replayWorkflowExecution(golden, worker));
  }

  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenExpiryReplays() throws Exception {
    requireGolden(EXPIRY);
    withReplayWorker(
        ExpiryWorkflowImpl.class,
        worker -> WorkflowReplayer.replayWorkflowExecutionFromResource(EXPIRY, worker));
  }

  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenExpiryFollowingASignalReplays() throws Exception {
    requireGolden(EXPIRY_V2);
    withReplayWorker(
        ExpiryWorkflowImpl.class,
        worker -> WorkflowReplayer.replayWorkflowExecutionFromResource(EXPIRY_V2, worker));
  }

  /** Runs recorded before resumable-sweep (one activity per bucket) still replay. */
  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenReconcileReplays() throws Exception {
    requireGolden(RECONCILE);
    withReplayWorker(
        ReconcileWorkflowImpl.class,
        worker -> WorkflowReplayer.replayWorkflowExecutionFromResource(RECONCILE, worker));
  }

  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenReconcileWithStorageMaintenanceReplays() throws Exception {
    requireGolden(RECONCILE_V3);
    withReplayWorker(
        ReconcileWorkflowImpl.class,
        worker -> WorkflowReplayer.replayWorkflowExecutionFromResource(RECONCILE_V3, worker));
  }

  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenReconcileInPartsReplays() throws Exception {
    requireGolden(RECONCILE_V2);
    withReplayWorker(
        ReconcileWorkflowImpl.class,
        worker -> WorkflowReplayer.replayWorkflowExecutionFromResource(RECONCILE_V2, worker));
  }

  /**
   * The golden tests have teeth: an expiry workflow that adds a one-minute grace timer after the
   * deadline (a plausible change: one timer more per round) does not replay the recorded history.
   */
  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void aChangedShapeFailsTheGoldenReplay() throws Exception {
    requireGolden(EXPIRY);
    assertThatThrownBy(
            () ->
                withReplayWorker(
                    GraceTimerExpiry.class,
                    worker -> WorkflowReplayer.replayWorkflowExecutionFromResource(EXPIRY, worker)))
        .hasMessageContaining("NonDeterministicException")
        .hasMessageContaining("does not match command type COMMAND_TYPE_START_TIMER");
  }

  /** ExpiryWorkflowImpl plus a grace period: a change of shape that needs Workflow.getVersion. */
  public static class GraceTimerExpiry implements ExpiryWorkflow {
    private final ExpiryActivities activities =
        Workflow.newActivityStub(
            ExpiryActivities.class,
            ActivityOptions.newBuilder().setStartToCloseTimeout(Duration.ofSeconds(30)).build());
    private long deadlineMillis;

    @Override
    public void run(ExpiryRequest request) {
      ExpiryRequest armed = request;
      deadlineMillis = armed.deadlineMillis();
      while (true) {
        long wait = deadlineMillis - Workflow.currentTimeMillis();
        if (wait > 0) Workflow.sleep(Duration.ofMillis(wait));
        Workflow.sleep(Duration.ofMinutes(1));
        ExpiryCheck check = activities.leaveOrExtend(armed);
        if (check.status() != ExpiryCheck.Status.EXTENDED) return;
        deadlineMillis = check.nextDeadlineMillis();
        armed = armed.rearmedAt(deadlineMillis);
      }
    }

    @Override
    public void deadlineMoved(long deadlineMillis) {}

    @Override
    public String deadline() {
      return java.time.Instant.ofEpochMilli(deadlineMillis).toString();
    }
  }

  // ---------------------------------------------------------------- (re)writing golden files

  /** -Dbucketflow.writeHistories=true writes all; =expiry,reconcile (etc.) writes only those. */
  @Test
  @EnabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void writeGoldenHistories() throws Exception {
    String which = System.getProperty(WRITE_PROPERTY);
    boolean all = which.equals("true");
    java.util.function.Predicate<String> wanted =
        name -> all || List.of(which.split(",")).contains(name);
    Path dir =
        Path.of(System.getProperty("basedir", System.getProperty("user.dir")))
            .resolve("src/test/resources/histories");
    Files.createDirectories(dir);
    Map<String, WorkflowExecutionHistory> out = new LinkedHashMap<>();
    // "ingest" and "ingest-budget" recorded shapes before continue-from-cache: no longer
    // recordable (today's runs record its version and side-effect markers).
    if (wanted.test("ingest-staggered")) {
      out.put(INGEST_STAGGERED_CONTINUE, runStaggeredShards().get(7).get(0));
    }
    if (wanted.test("ingest-deferred")) {
      out.put(INGEST_DEFERRED_CONTINUE, refusedRun(runRacedIngest(1)));
    }
    if (wanted.test("expiry")) {
      try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
        out.put(EXPIRY, runExpiry(env));
      }
    }
    if (wanted.test("expiry-v2")) {
      try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
        out.put(EXPIRY_V2, runExpiryFollowingSignal(env));
      }
    }
    // "reconcile" (reconcile.json) is the shape before resumable-sweep: no longer recordable.
    // "reconcile-v2" (resumable-sweep, before event-retention) is no longer recordable either.
    if (wanted.test("reconcile-v3")) {
      try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
        out.put(RECONCILE_V3, runReconcile(env));
      }
    }
    assertThat(out).as("nothing selected by -D%s=%s", WRITE_PROPERTY, which).isNotEmpty();
    for (Map.Entry<String, WorkflowExecutionHistory> e : out.entrySet()) {
      Path file = dir.resolve(Path.of(e.getKey()).getFileName());
      Files.writeString(file, e.getValue().toJson(true) + "\n", StandardCharsets.UTF_8);
      // What was written must replay, or it is no golden file.
      WorkflowExecutionHistory back =
          WorkflowExecutionHistory.fromJson(
              Files.readString(file), e.getValue().getWorkflowExecution().getWorkflowId());
      if (e.getKey().startsWith("histories/ingest")) {
        replayIngest(back);
      } else if (e.getKey().equals(EXPIRY) || e.getKey().equals(EXPIRY_V2)) {
        replay(back, ExpiryWorkflowImpl.class);
      } else {
        replay(back, ReconcileWorkflowImpl.class);
      }
      System.out.println("wrote " + file + " (" + back.getEvents().size() + " events)");
    }
  }

  // ---------------------------------------------------------------- helpers

  interface WorkerAction {
    void accept(Worker worker) throws Exception;
  }

  /**
   * Replays run on a worker of a fresh (never started) environment. The deadlock detector is
   * relaxed: a cold JVM on a busy machine can take over its default 1 s to load and initialise a
   * workflow class, which would fail a replay for no reason of the workflow's.
   */
  static Worker replayWorker(TestWorkflowEnvironment env) {
    return env.newWorker(
        QUEUE,
        WorkerOptions.newBuilder()
            .setDefaultDeadlockDetectionTimeout(Duration.ofSeconds(30).toMillis())
            .build());
  }

  static void withReplayWorker(Class<?> workflowImpl, WorkerAction action) throws Exception {
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      Worker worker = replayWorker(env);
      worker.registerWorkflowImplementationTypes(workflowImpl);
      action.accept(worker);
    }
  }

  static void replay(WorkflowExecutionHistory history, Class<?> workflowImpl) throws Exception {
    withReplayWorker(
        workflowImpl, worker -> WorkflowReplayer.replayWorkflowExecution(history, worker));
  }

  /**
   * The ingest impl needs its settings: a worker with the same factory as production, same
   * settings.
   */
  static void withIngestReplayWorker(WorkerAction action) throws Exception {
    withIngestReplayWorker(INGEST_SETTINGS, action);
  }

  static void withIngestReplayWorker(IngestSettings settings, WorkerAction action)
      throws Exception {
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      Worker worker = replayWorker(env);
      worker.registerWorkflowImplementationFactory(
          EventIngestWorkflow.class, () -> new EventIngestWorkflowImpl(settings));
      action.accept(worker);
    }
  }

  static void replayIngest(WorkflowExecutionHistory history) throws Exception {
    withIngestReplayWorker(worker -> WorkflowReplayer.replayWorkflowExecution(history, worker));
  }

  /** A golden ingest history, read as the run of {@code workflowId} it was recorded from. */
  static WorkflowExecutionHistory goldenIngest(String resource, String workflowId)
      throws java.io.IOException {
    try (var in = ReplayTest.class.getClassLoader().getResourceAsStream(resource)) {
      return WorkflowExecutionHistory.fromJson(
          new String(in.readAllBytes(), StandardCharsets.UTF_8), workflowId);
    }
  }

  static void requireGolden(String resource) {
    assertThat(ReplayTest.class.getClassLoader().getResource(resource))
        .as(
            "golden history %s is missing: record it once with -D%s=%s (see the top of ReplayTest)",
            resource,
            WRITE_PROPERTY,
            resource.replaceAll("histories/|-(first|continued)-run|\\.json", ""))
        .isNotNull();
  }

  static io.temporal.api.history.v1.WorkflowExecutionStartedEventAttributes startedOf(
      WorkflowExecutionHistory h) {
    return h.getEvents().get(0).getWorkflowExecutionStartedEventAttributes();
  }

  static long count(
      WorkflowExecutionHistory history, java.util.function.Predicate<HistoryEvent> p) {
    return history.getEvents().stream().filter(p).count();
  }

  static void awaitReal(BooleanSupplier condition) throws InterruptedException {
    dev.bucketflow.testing.RealTime.await(condition, Duration.ofSeconds(15));
  }
}
