package dev.bucketflow.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.event.StorageMaintenance;
import io.temporal.activity.Activity;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.converter.DefaultDataConverter;
import io.temporal.failure.ApplicationFailure;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ReconcileWorkflowTest {

  private static final String QUEUE = "reconcile-test";

  /** Sweeps succeed with counts derived from the bucket id, except the ones told to fail. */
  static final class FakeReconcile implements ReconcileActivities {
    volatile List<String> buckets = List.of("b1", "b2", "b3");
    final Set<String> alwaysThrow = ConcurrentHashMap.newKeySet();
    final Set<String> nonRetryable = ConcurrentHashMap.newKeySet();
    final List<String> onlyArgs = Collections.synchronizedList(new ArrayList<>());
    final Map<String, AtomicInteger> sweepAttempts = new ConcurrentHashMap<>();
    final AtomicInteger sweeps = new AtomicInteger();
    final AtomicInteger redispatches = new AtomicInteger();
    final Set<String> runIds = ConcurrentHashMap.newKeySet();
    volatile int redispatched = 7;

    /** Buckets swept in this many parts (default one); the cursors each part was called from. */
    final Map<String, Integer> partsOf = new ConcurrentHashMap<>();

    final List<String> partCalls = Collections.synchronizedList(new ArrayList<>());

    static BucketSweep sweepOf(String bucketId) {
      int n = bucketId.hashCode() & 0xf;
      return new BucketSweep(bucketId, n, n + 1, n + 2, n + 3, false, n + 4, null);
    }

    @Override
    public List<String> bucketsToSweep(String onlyBucket) {
      runIds.add(Activity.getExecutionContext().getInfo().getRunId());
      onlyArgs.add(onlyBucket);
      return onlyBucket == null ? buckets : buckets.stream().filter(onlyBucket::equals).toList();
    }

    @Override
    public BucketSweep sweepBucket(String bucketId) {
      sweepAttempts.computeIfAbsent(bucketId, k -> new AtomicInteger()).incrementAndGet();
      sweeps.incrementAndGet();
      if (nonRetryable.contains(bucketId)) {
        throw ApplicationFailure.newNonRetryableFailure(
            "bucket " + bucketId + " is corrupt", "CorruptBucket");
      }
      if (alwaysThrow.contains(bucketId))
        throw new IllegalStateException("sweep of " + bucketId + " exploded");
      return sweepOf(bucketId);
    }

    /**
     * Part i of n of a bucket goes from cursor (CLOCK_LEAVES, "k" + i) to ("k" + (i + 1)), the last
     * to DONE; each part's counts are sweepOf(bucket) for part 0 and one clock leave per later
     * part.
     */
    @Override
    public SweepProgress sweepBucketPart(SweepStep step) {
      String bucketId = step.bucketId();
      int n = partsOf.getOrDefault(bucketId, 1);
      SweepCursor from = step.from();
      int i =
          from.phase() == SweepCursor.Phase.MAX_DWELL
              ? 0
              : Integer.parseInt(from.after().substring(1));
      partCalls.add(bucketId + "@" + step.from().phase() + ":" + step.from().after());
      if (i == 0)
        sweepAttempts.computeIfAbsent(bucketId, k -> new AtomicInteger()).incrementAndGet();
      sweeps.incrementAndGet();
      if (nonRetryable.contains(bucketId)) {
        throw ApplicationFailure.newNonRetryableFailure(
            "bucket " + bucketId + " is corrupt", "CorruptBucket");
      }
      if (alwaysThrow.contains(bucketId))
        throw new IllegalStateException("sweep of " + bucketId + " exploded");
      BucketSweep counts =
          i == 0 ? sweepOf(bucketId) : new BucketSweep(bucketId, 1, 0, 0, 0, false, 0, null);
      SweepCursor next =
          i + 1 >= n
              ? SweepCursor.at(SweepCursor.Phase.DONE)
              : SweepCursor.at(SweepCursor.Phase.CLOCK_LEAVES).after("k" + (i + 1));
      return new SweepProgress(next, counts);
    }

    @Override
    public int redispatchOutbox() {
      redispatches.incrementAndGet();
      return redispatched;
    }

    final AtomicInteger maintenances = new AtomicInteger();
    volatile boolean maintenanceFails;

    @Override
    public StorageMaintenance maintainEventStorage() {
      maintenances.incrementAndGet();
      if (maintenanceFails)
        throw ApplicationFailure.newNonRetryableFailure("disk full", "StorageFailure");
      return new StorageMaintenance(List.of(), List.of(), 0, 0, 0, List.of());
    }
  }

  private TestWorkflowEnvironment env;
  private FakeReconcile activities;
  private WorkflowClient client;

  @BeforeEach
  void start() {
    env = TestWorkflowEnvironment.newInstance();
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(ReconcileWorkflowImpl.class);
    activities = new FakeReconcile();
    worker.registerActivitiesImplementations(activities);
    env.start();
    client = env.getWorkflowClient();
  }

  @AfterEach
  void stop() {
    env.close();
  }

  private ReconcileWorkflow stub(String workflowId) {
    return client.newWorkflowStub(
        ReconcileWorkflow.class,
        WorkflowOptions.newBuilder().setWorkflowId(workflowId).setTaskQueue(QUEUE).build());
  }

  private static void awaitReal(BooleanSupplier condition) throws InterruptedException {
    dev.bucketflow.testing.RealTime.await(condition, Duration.ofSeconds(10));
  }

  @Test
  void reportsEveryBucketsSweepAndTheRedispatchedCount() {
    ReconcileReport report = stub("reconcile-all").run(ReconcileRequest.all());

    assertThat(report.buckets())
        .containsExactly(
            FakeReconcile.sweepOf("b1"), FakeReconcile.sweepOf("b2"), FakeReconcile.sweepOf("b3"));
    assertThat(report.redispatched()).isEqualTo(7);
    assertThat(activities.onlyArgs).containsExactly((String) null);
    assertThat(activities.redispatches).hasValue(1);
    assertThat(activities.maintenances).as("event storage kept once per run").hasValue(1);
  }

  @Test
  void aFailedStorageMaintenanceDoesNotFailTheSweepsReport() {
    activities.maintenanceFails = true;
    ReconcileReport report = stub("reconcile-storage-fails").run(ReconcileRequest.all());

    assertThat(report.buckets()).hasSize(3).allMatch(b -> b.error() == null);
    assertThat(activities.maintenances).hasValue(1);
  }

  @Test
  void aBucketThatKeepsFailingIsReportedWithItsErrorAfterItsRetriesWhileOthersSucceed() {
    activities.alwaysThrow.add("b2");
    activities.redispatched = 2;

    ReconcileReport report = stub("reconcile-one-fails").run(ReconcileRequest.all());

    assertThat(activities.sweepAttempts.get("b2"))
        .as("maximumAttempts of the sweep stub")
        .hasValue(3);
    assertThat(activities.sweepAttempts.get("b1")).hasValue(1);
    assertThat(report.buckets())
        .extracting(BucketSweep::bucketId)
        .containsExactly("b1", "b2", "b3");
    assertThat(report.buckets().get(0)).isEqualTo(FakeReconcile.sweepOf("b1"));
    assertThat(report.buckets().get(2)).isEqualTo(FakeReconcile.sweepOf("b3"));
    BucketSweep failed = report.buckets().get(1);
    assertThat(failed.error()).contains("sweep of b2 exploded");
    assertThat(failed)
        .usingRecursiveComparison()
        .ignoringFields("error")
        .isEqualTo(BucketSweep.failed("b2", "whatever"));
    assertThat(report.redispatched()).as("the outbox backstop still runs").isEqualTo(2);
  }

  @Test
  void aNonRetryableFailureIsReportedAfterOneAttempt() {
    activities.nonRetryable.add("b3");

    ReconcileReport report = stub("reconcile-non-retryable").run(ReconcileRequest.all());

    assertThat(activities.sweepAttempts.get("b3")).hasValue(1);
    assertThat(report.buckets())
        .extracting(BucketSweep::error)
        .satisfiesExactly(
            e -> assertThat(e).isNull(),
            e -> assertThat(e).isNull(),
            e -> assertThat(e).contains("bucket b3 is corrupt"));
    assertThat(report.redispatched()).isEqualTo(7);
  }

  @Test
  void aBucketIsSweptInBoundedPartsEachFromTheCursorTheLastOneReturned() {
    activities.partsOf.put("b2", 4);

    ReconcileReport report = stub("reconcile-parts").run(ReconcileRequest.all());

    assertThat(activities.partCalls)
        .filteredOn(c -> c.startsWith("b2@"))
        .containsExactly(
            "b2@MAX_DWELL:", "b2@CLOCK_LEAVES:k1", "b2@CLOCK_LEAVES:k2", "b2@CLOCK_LEAVES:k3");
    BucketSweep b2 = FakeReconcile.sweepOf("b2");
    assertThat(report.buckets())
        .containsExactly(
            FakeReconcile.sweepOf("b1"),
            new BucketSweep(
                "b2",
                b2.clockLeaves() + 3,
                b2.maxDwellLeaves(),
                b2.deferred(),
                b2.absenceJoins(),
                false,
                b2.expiryRearmed(),
                null),
            FakeReconcile.sweepOf("b3"));
  }

  @Test
  void bucketIdFilterIsPassedThrough() {
    ReconcileReport report = stub("reconcile-one").run(new ReconcileRequest("b2"));

    assertThat(activities.onlyArgs).containsExactly("b2");
    assertThat(report.buckets()).containsExactly(FakeReconcile.sweepOf("b2"));
    assertThat(activities.sweepAttempts).containsOnlyKeys("b2");
    assertThat(report.redispatched()).isEqualTo(7);
  }

  @Test
  void aNullRequestSweepsEverything() {
    ReconcileReport report = stub("reconcile-null").run(null);

    assertThat(activities.onlyArgs).containsExactly((String) null);
    assertThat(report.buckets()).hasSize(3);
  }

  @Test
  void noBucketsStillRedispatchesTheOutbox() {
    activities.buckets = List.of();

    ReconcileReport report = stub("reconcile-empty").run(ReconcileRequest.all());

    assertThat(report.buckets()).isEmpty();
    assertThat(report.redispatched()).isEqualTo(7);
  }

  @Test
  void runsAgainAndAgainAsACronWorkflow() throws Exception {
    ReconcileWorkflow cron =
        client.newWorkflowStub(
            ReconcileWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId(ReconcileWorkflow.CRON_ID)
                .setTaskQueue(QUEUE)
                .setCronSchedule("*/5 * * * *")
                .build());
    WorkflowClient.start(cron::run, ReconcileRequest.all());

    // The first run waits for the next */5 boundary, at most five minutes away.
    env.sleep(Duration.ofMinutes(5).plusSeconds(1));
    awaitReal(() -> activities.redispatches.get() >= 1);
    int sweepsAfterFirst = activities.sweeps.get();
    assertThat(sweepsAfterFirst).isGreaterThanOrEqualTo(3);

    env.sleep(Duration.ofMinutes(5).plusSeconds(1));
    awaitReal(() -> activities.redispatches.get() >= 2);
    assertThat(activities.sweeps.get()).isGreaterThan(sweepsAfterFirst);
    assertThat(activities.runIds)
        .as("each cron tick is its own run")
        .hasSizeGreaterThanOrEqualTo(2);

    // Each finished tick ended cleanly and handed its report to the next run (cron's
    // lastCompletionResult). The Java test server closes a cron run as CONTINUED_AS_NEW carrying
    // that result (no failure) where a real server writes COMPLETED; both are clean ends.
    var latest = client.fetchHistory(ReconcileWorkflow.CRON_ID);
    var started = latest.getEvents().get(0).getWorkflowExecutionStartedEventAttributes();
    String firstRun = started.getFirstExecutionRunId();
    assertThat(activities.runIds).contains(firstRun);
    var end = client.fetchHistory(ReconcileWorkflow.CRON_ID, firstRun).getLastEvent();
    boolean clean =
        end.hasWorkflowExecutionCompletedEventAttributes()
            || (end.hasWorkflowExecutionContinuedAsNewEventAttributes()
                && !end.getWorkflowExecutionContinuedAsNewEventAttributes().hasFailure()
                && end.getWorkflowExecutionContinuedAsNewEventAttributes()
                    .hasLastCompletionResult());
    assertThat(clean).as("first run ended cleanly, was %s", end).isTrue();
    assertThat(started.hasLastCompletionResult()).isTrue();
    ReconcileReport previous =
        DefaultDataConverter.STANDARD_INSTANCE.fromPayloads(
            0,
            Optional.of(started.getLastCompletionResult()),
            ReconcileReport.class,
            ReconcileReport.class);
    assertThat(previous.buckets())
        .extracting(BucketSweep::bucketId)
        .containsExactly("b1", "b2", "b3");
    assertThat(previous.redispatched()).isEqualTo(7);

    WorkflowStub.fromTyped(cron).terminate("test over");
  }
}
