package dev.bucketflow.reconcile;

import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.event.StorageMaintenance;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import io.temporal.activity.ActivityOptions;
import io.temporal.client.WorkflowOptions;
import io.temporal.common.RetryOptions;
import io.temporal.testing.TestActivityEnvironment;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Resumable, bounded sweeps on real PostgreSQL: a sweep part stops at its budget and returns its
 * cursor; a part that fails after k chunks is retried from its last heartbeat (the typed {@link
 * SweepProgress}), not from the start, and changes nothing twice.
 */
class ReconcileResumeTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final int CHUNK = 5;
  static final int USERS = 23; // chunks of 5: 5, 5, 5, 5, 3

  static final BucketDefinition RECENT =
      BucketDefinition.builder("recent").criteria(event("ping").within(days(7)).exists()).build();

  MutableClock clock;
  ReconcileService reconcile;

  /** (phase:after) of every chunk the service processed, in order; cleared per attempt. */
  final List<String> chunksFrom = Collections.synchronizedList(new ArrayList<>());

  TestActivityEnvironment activityEnv;

  @BeforeEach
  void reset() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, rejected_events, ingest_batches, bucket_memberships, "
            + "bucket_transitions, bucket_configs, bucket_backfill_jobs");
    clock = new MutableClock(T0);
    BucketCatalog catalog = Engines.catalog(dsl, List.of(RECENT));
    EventHistoryLoader history = new EventHistoryLoader();
    IngestService ingest =
        new IngestService(
            dsl,
            new MembershipEngine(
                catalog, new MembershipStore(), history, TransitionWriter.withoutGenericEvents()),
            clock);
    List<ObjectNode> pings = new ArrayList<>();
    for (int i = 1; i <= USERS; i++) pings.add(event(user(i), "ping"));
    ingest.apply(batch(clock.instant(), pings));
    clock.advance(days(7)); // every member's only ping ages out
    reconcile =
        new ReconcileService(
            dsl,
            catalog,
            new UserStates(history),
            TransitionWriter.withoutGenericEvents(),
            clock,
            CHUNK,
            null);
  }

  @AfterEach
  void close() {
    if (activityEnv != null) activityEnv.close();
  }

  static String user(int i) {
    return String.format("u%02d", i);
  }

  static String at(SweepCursor c) {
    return c.phase() + ":" + c.after();
  }

  /** Records each chunk's start; throws after the {@code failAt}-th chunk of the first attempt. */
  void failOnceAfter(int failAt) {
    AtomicInteger chunks = new AtomicInteger();
    AtomicInteger attempts = new AtomicInteger(1);
    reconcile.afterChunk(
        (from, to) -> {
          chunksFrom.add(at(from));
          if (attempts.get() == 1 && chunks.incrementAndGet() == failAt) {
            attempts.incrementAndGet();
            throw new IllegalStateException("worker lost after chunk " + failAt);
          }
        });
  }

  ReconcileActivities activityStub(ReconcileService.Budget budget) {
    activityEnv = TestActivityEnvironment.newInstance();
    activityEnv.registerActivitiesImplementations(
        new ReconcileActivitiesImpl(
            reconcile, dev.bucketflow.dispatch.DeliveryWake.NONE, () -> 0, budget));
    return activityEnv.newActivityStub(
        ReconcileActivities.class,
        ActivityOptions.newBuilder()
            .setStartToCloseTimeout(Duration.ofMinutes(1))
            .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(1).build())
            .build());
  }

  List<String> leftUsers() {
    var t = BUCKET_TRANSITIONS;
    return dsl.select(t.USER_ID)
        .from(t)
        .where(t.BUCKET_ID.eq(RECENT.id()).and(t.KIND.eq(TransitionKind.LEFT)))
        .orderBy(t.ID)
        .fetch(t.USER_ID);
  }

  @Test
  void aRetriedPartResumesAtTheCursorOfItsLastHeartbeat() {
    ReconcileActivities part = activityStub(ReconcileService.Budget.DEFAULT);
    failOnceAfter(3);
    SweepStep step = new SweepStep(RECENT.id(), SweepCursor.start());

    // The first attempt, as the activity runs it, its heartbeats recorded (the SDK keeps the
    // latest and sends it with the failure; TestActivityEnvironment's listener sees only the
    // throttled ones, hence the service called directly here, and the end-to-end test below).
    AtomicReference<SweepProgress> lastBeat = new AtomicReference<>();
    assertThatThrownBy(
            () ->
                reconcile.sweep(
                    step.bucketId(),
                    SweepProgress.start(step.bucketId(), step.from()),
                    ReconcileService.Budget.DEFAULT,
                    lastBeat::set))
        .hasMessageContaining("worker lost after chunk 3");

    assertThat(chunksFrom).containsExactly("CLOCK_LEAVES:", "CLOCK_LEAVES:u05", "CLOCK_LEAVES:u10");
    SweepProgress beat = lastBeat.get();
    assertThat(beat.next()).isEqualTo(SweepCursor.at(SweepCursor.Phase.CLOCK_LEAVES).after("u15"));
    assertThat(beat.counts().clockLeaves()).isEqualTo(15);
    assertThat(leftUsers()).hasSize(15);

    // The retry, through the activity: the server hands it its predecessor's last heartbeat
    // details.
    chunksFrom.clear();
    activityEnv.setHeartbeatDetails(beat);
    SweepProgress done = part.sweepBucketPart(step);

    assertThat(chunksFrom)
        .as("the retry starts after the cursor, never at the start")
        .containsExactly("CLOCK_LEAVES:u15", "CLOCK_LEAVES:u20");
    assertThat(done.done()).isTrue();
    assertThat(done.counts().clockLeaves())
        .as("the failed attempt's committed chunks still counted")
        .isEqualTo(USERS);
    List<String> left = leftUsers();
    assertThat(left).hasSize(USERS).doesNotHaveDuplicates();
    var m = BUCKET_MEMBERSHIPS;
    assertThat(
            dsl.fetchCount(
                m, m.BUCKET_ID.eq(RECENT.id()).and(m.STATUS.eq(MembershipStatus.ACTIVE))))
        .isZero();
  }

  @Test
  void aPartStopsAtItsBudgetAndTheNextGoesOnFromItsCursor() {
    ReconcileActivities part = activityStub(new ReconcileService.Budget(2, Duration.ofMinutes(1)));
    reconcile.afterChunk((from, to) -> chunksFrom.add(at(from)));
    List<String> partStarts = new ArrayList<>();
    SweepCursor cursor = SweepCursor.start();
    int leaves = 0;
    while (!cursor.done()) {
      partStarts.add(at(cursor));
      SweepProgress progress = part.sweepBucketPart(new SweepStep(RECENT.id(), cursor));
      leaves += progress.counts().clockLeaves();
      cursor = progress.next();
      assertThat(partStarts).as("a part always makes progress").hasSizeLessThanOrEqualTo(10);
    }
    assertThat(partStarts).containsExactly("MAX_DWELL:", "CLOCK_LEAVES:u10", "CLOCK_LEAVES:u20");
    assertThat(chunksFrom)
        .containsExactly(
            "CLOCK_LEAVES:",
            "CLOCK_LEAVES:u05",
            "CLOCK_LEAVES:u10",
            "CLOCK_LEAVES:u15",
            "CLOCK_LEAVES:u20");
    assertThat(leaves).isEqualTo(USERS);
  }

  /**
   * End to end with Temporal's test server: the reconcile workflow's part activity fails after two
   * chunks on its first attempt; Temporal retries it, handing over the last heartbeat, and the
   * retry resumes there. The report counts every leave once.
   */
  @Test
  void theWorkflowsRetryOfAFailedPartResumesFromItsHeartbeat() {
    failOnceAfter(2);
    ReconcileActivitiesImpl real =
        new ReconcileActivitiesImpl(
            reconcile,
            dev.bucketflow.dispatch.DeliveryWake.NONE,
            () -> 0,
            ReconcileService.Budget.DEFAULT);
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      Worker worker = env.newWorker("reconcile-resume");
      worker.registerWorkflowImplementationTypes(ReconcileWorkflowImpl.class);
      worker.registerActivitiesImplementations(
          new ReconcileActivities() {
            @Override
            public List<String> bucketsToSweep(String onlyBucket) {
              return real.bucketsToSweep(onlyBucket);
            }

            @Override
            public BucketSweep sweepBucket(String bucketId) {
              throw new UnsupportedOperationException("the shape before resumable-sweep");
            }

            @Override
            public SweepProgress sweepBucketPart(SweepStep step) {
              return real.sweepBucketPart(step);
            }

            @Override
            public int redispatchOutbox() {
              return 0;
            }

            @Override
            public StorageMaintenance maintainEventStorage() {
              return real.maintainEventStorage();
            }
          });
      env.start();
      ReconcileReport report =
          env.getWorkflowClient()
              .newWorkflowStub(
                  ReconcileWorkflow.class,
                  WorkflowOptions.newBuilder()
                      .setWorkflowId("reconcile-resume")
                      .setTaskQueue("reconcile-resume")
                      .build())
              .run(ReconcileRequest.all());

      assertThat(chunksFrom)
          .containsExactly(
              "CLOCK_LEAVES:",
              "CLOCK_LEAVES:u05", // attempt 1, then it failed
              "CLOCK_LEAVES:u10",
              "CLOCK_LEAVES:u15",
              "CLOCK_LEAVES:u20"); // attempt 2, from the heartbeat
      assertThat(report.buckets())
          .containsExactly(new BucketSweep(RECENT.id(), USERS, 0, 0, 0, false, 0, null));
      assertThat(leftUsers()).hasSize(USERS).doesNotHaveDuplicates();
    }
  }
}
