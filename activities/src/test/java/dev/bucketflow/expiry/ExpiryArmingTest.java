package dev.bucketflow.expiry;

import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.testing.Events.batch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.WorkflowIds;
import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.Events;
import io.grpc.StatusRuntimeException;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.api.workflow.v1.WorkflowExecutionInfo;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.converter.DefaultDataConverter;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Joins of fast-expiry buckets arm watches under unambiguous, bounded ids (real PostgreSQL +
 * Temporal).
 */
class ExpiryArmingTest extends DatabaseTest {

  static final String QUEUE = "bucketflow";
  // Under the former encoding (bucket trial, user idle-u1) and (bucket trial-idle, user u1) both
  // armed bucketflow-expiry-trial-idle-u1-1: the second join found it "already started".
  static final BucketDefinition TRIAL =
      BucketDefinition.builder("trial")
          .criteria(event("trial.ping").within(Duration.ofHours(1)).exists())
          .fastExpiry(true)
          .build();
  static final BucketDefinition TRIAL_IDLE =
      BucketDefinition.builder("trial-idle")
          .criteria(event("idle.ping").within(Duration.ofHours(1)).exists())
          .fastExpiry(true)
          .build();

  /**
   * Stops matching on blocked=true, but stays 10 minutes at least: the deadline then moves earlier.
   */
  static final BucketDefinition GATED =
      BucketDefinition.builder("gated")
          .criteria(
              dev.bucketflow.bucket.Criteria.all(
                  event("gated.ping").within(Duration.ofHours(1)).exists(),
                  dev.bucketflow.bucket.Criteria.prop("blocked").neq(true)))
          .minDwell(Duration.ofMinutes(10))
          .fastExpiry(true)
          .build();

  /** 256 UTF-8 bytes (the longest user id ingest accepts) in 2-byte characters. */
  static final String LONG_USER = "é".repeat(128);

  TestWorkflowEnvironment env;
  WorkflowClient client;
  IngestService ingest;
  OutboxDispatcher dispatcher;
  ExpiryArming arming;

  @BeforeEach
  void wire() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, ingest_batches, bucket_memberships, bucket_transitions, bucket_configs");
    env = TestWorkflowEnvironment.newInstance();
    client = env.getWorkflowClient();
    List<BucketDefinition> buckets = List.of(TRIAL, TRIAL_IDLE, GATED);
    BucketCatalog catalog = Engines.catalog(dsl, buckets);
    TransitionWriter transitions = TransitionWriter.withoutGenericEvents();
    arming = new ExpiryArming(dsl, catalog, client, QUEUE);
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(ExpiryWorkflowImpl.class);
    worker.registerActivitiesImplementations(
        new ExpiryActivitiesImpl(
            new ExpiryService(
                dsl,
                catalog,
                new UserStates(new EventHistoryLoader()),
                transitions,
                Clock.systemUTC()),
            dev.bucketflow.dispatch.DeliveryWake.NONE,
            arming));
    env.start();
    dispatcher = OutboxDispatcher.of(dsl, List.of(arming), Clock.systemUTC());
    ingest =
        new IngestService(
            dsl,
            new MembershipEngine(
                catalog, new MembershipStore(), new EventHistoryLoader(), transitions),
            Clock.systemUTC());
  }

  @AfterEach
  void stopTemporal() {
    if (env != null) env.close();
  }

  void join(String user, String event) {
    ingest.apply(batch(Clock.systemUTC().instant(), Events.event(user, event)));
  }

  WorkflowExecutionInfo describe(String workflowId) {
    return env.getWorkflowServiceStubs()
        .blockingStub()
        .describeWorkflowExecution(
            DescribeWorkflowExecutionRequest.newBuilder()
                .setNamespace(env.getNamespace())
                .setExecution(WorkflowExecution.newBuilder().setWorkflowId(workflowId))
                .build())
        .getWorkflowExecutionInfo();
  }

  String memo(WorkflowExecutionInfo info, String key) {
    return DefaultDataConverter.STANDARD_INSTANCE.fromPayload(
        info.getMemo().getFieldsOrThrow(key), String.class, String.class);
  }

  Instant expiresAt(String bucket, String user) {
    var m = BUCKET_MEMBERSHIPS;
    return dsl.select(m.EXPIRES_AT)
        .from(m)
        .where(m.BUCKET_ID.eq(bucket).and(m.USER_ID.eq(user)))
        .fetchOne(m.EXPIRES_AT);
  }

  /**
   * The watch under {@code workflowId} runs for exactly this member and sleeps toward its deadline.
   */
  void assertWatching(String workflowId, String bucket, String user) {
    WorkflowExecutionInfo info = describe(workflowId);
    assertThat(info.getStatus())
        .isEqualTo(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING);
    assertThat(info.getType().getName()).isEqualTo(ExpiryWorkflow.TYPE);
    assertThat(memo(info, "bucketId")).isEqualTo(bucket);
    assertThat(memo(info, "userId")).isEqualTo(user);
    String deadline = client.newWorkflowStub(ExpiryWorkflow.class, workflowId).deadline();
    assertThat(Instant.parse(deadline))
        .isEqualTo(expiresAt(bucket, user).truncatedTo(ChronoUnit.MILLIS));
  }

  @Test
  void theFormerlyCollidingPairsArmTwoDistinctWatches() {
    join("idle-u1", "trial.ping");
    join("u1", "idle.ping");
    assertThat(dispatcher.drain()).isEqualTo(2);

    String first = WorkflowIds.expiry("trial", "idle-u1", 1);
    String second = WorkflowIds.expiry("trial-idle", "u1", 1);
    assertThat(first).isEqualTo("bucketflow-expiry:trial:1:idle-u1").isNotEqualTo(second);
    assertThat(second).isEqualTo("bucketflow-expiry:trial-idle:1:u1");
    assertWatching(first, "trial", "idle-u1");
    assertWatching(second, "trial-idle", "u1");
    assertThatThrownBy(() -> describe(WorkflowIds.legacyExpiry("trial", "idle-u1", 1)))
        .isInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("NOT_FOUND");
  }

  @Test
  void aLongMultiByteUserIdArmsAWatchWhoseIdStaysUnderTheLimit() {
    assertThat(LONG_USER.getBytes(StandardCharsets.UTF_8)).hasSize(256);
    join(LONG_USER, "trial.ping");
    assertThat(dispatcher.drain()).isEqualTo(1);

    String id = WorkflowIds.expiry("trial", LONG_USER, 1);
    // The test server does not enforce Temporal's 1,000-byte id limit, so measure it here.
    assertThat(WorkflowIds.utf8Length(id))
        .isLessThanOrEqualTo(WorkflowIds.MAX_BYTES)
        .isLessThan(1000);
    assertThat(id).startsWith("bucketflow-expiry:trial:1#sha256:");
    assertWatching(id, "trial", LONG_USER); // the memo still names the full user id
  }

  @Test
  void aWatchStillRunningUnderTheFormerIdCountsAsArmed() {
    join("u7", "trial.ping");
    Instant deadline = expiresAt("trial", "u7");
    String legacy = WorkflowIds.legacyExpiry("trial", "u7", 1);
    // As armed before the id change: same type, request and task queue, former id.
    ExpiryWorkflow old =
        client.newWorkflowStub(
            ExpiryWorkflow.class,
            WorkflowOptions.newBuilder().setWorkflowId(legacy).setTaskQueue(QUEUE).build());
    WorkflowClient.start(old::run, new ExpiryRequest("trial", "u7", 1, deadline.toEpochMilli()));

    assertThat(dispatcher.drain()).isEqualTo(1); // the join's own arming, after the upgrade
    assertThat(arming.arm("trial", "u7", 1, deadline)).isFalse(); // and a reconcile re-arm
    assertThatThrownBy(() -> describe(WorkflowIds.expiry("trial", "u7", 1)))
        .isInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("NOT_FOUND");
    assertThat(describe(legacy).getStatus())
        .isEqualTo(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING);

    // Once the old watch is gone (here: terminated), re-arming starts one under the new id.
    WorkflowStub.fromTyped(old).terminate("test: old watch lost");
    assertThat(arming.arm("trial", "u7", 1, deadline)).isTrue();
    assertWatching(WorkflowIds.expiry("trial", "u7", 1), "trial", "u7");
  }

  // ------------------------------------------------------------ deadlines moved earlier

  String deadlineOf(String workflowId) {
    return client.newWorkflowStub(ExpiryWorkflow.class, workflowId).deadline();
  }

  @Test
  void anIngestThatMovesADeadlineEarlierReportsItForTheWatchAndTheSignalReachesIt()
      throws Exception {
    join("g1", "gated.ping");
    assertThat(dispatcher.drain()).isEqualTo(1);
    String id = WorkflowIds.expiry("gated", "g1", 1);
    Instant armed = expiresAt("gated", "g1");
    assertThat(Instant.parse(deadlineOf(id))).isEqualTo(armed.truncatedTo(ChronoUnit.MILLIS));

    IngestService.Applied applied =
        ingest.applyWithTransitions(
            batch(
                Clock.systemUTC().instant(),
                Events.event("g1", "gated.block", "{\"blocked\":true}")));

    Instant deferred = expiresAt("gated", "g1");
    assertThat(deferred).as("deferred to entered_at + minDwell").isBefore(armed);
    assertThat(applied.transitions()).isEmpty();
    assertThat(applied.movedDeadlines())
        .containsExactly(new dev.bucketflow.membership.MovedDeadline("gated", "g1", 1, deferred));
    arming.deadlinesMoved(applied.movedDeadlines());
    awaitDeadline(id, deferred);

    // A later deadline (a ping pushes expires_at on) is not reported: leave-or-extend follows it.
    IngestService.Applied later =
        ingest.applyWithTransitions(
            batch(
                Clock.systemUTC().instant(),
                Events.event("g1", "gated.ping", "{\"blocked\":false}")));
    assertThat(expiresAt("gated", "g1")).isAfter(deferred);
    assertThat(later.movedDeadlines()).isEmpty();
  }

  @Test
  void aMovedDeadlineWithNoWatchRunningStartsOne() {
    join("g2", "gated.ping"); // not drained: no watch armed
    String id = WorkflowIds.expiry("gated", "g2", 1);
    Instant earlier = expiresAt("gated", "g2").minus(Duration.ofMinutes(30));

    arming.deadlinesMoved(
        List.of(new dev.bucketflow.membership.MovedDeadline("gated", "g2", 1, earlier)));

    assertWatchingToward(id, earlier);
  }

  @Test
  void aSignalThatCannotBeSentIsLoggedNotThrown() {
    ExpiryArming unreachable =
        new ExpiryArming(dsl, Engines.catalog(dsl, List.of(GATED)), client, QUEUE);
    env.close();
    env = null;
    unreachable.deadlinesMoved(
        List.of(new dev.bucketflow.membership.MovedDeadline("gated", "g3", 1, Instant.now())));
  }

  /**
   * The sweep's minDwell deferral moves the deadline earlier; after its chunk commits the watch
   * hears it.
   */
  @Test
  void aReconcileDeferralSignalsTheWatch() {
    join("g4", "gated.ping");
    assertThat(dispatcher.drain()).isEqualTo(1);
    String id = WorkflowIds.expiry("gated", "g4", 1);
    Instant armed = expiresAt("gated", "g4");
    assertThat(Instant.parse(deadlineOf(id))).isEqualTo(armed.truncatedTo(ChronoUnit.MILLIS));
    // A property no ingest evaluated against the bucket (written directly): the sweep finds it.
    var c = dev.bucketflow.schema.Tables.CONTACTS;
    dsl.update(c)
        .set(c.PROPERTIES, org.jooq.JSONB.valueOf("{\"blocked\":true}"))
        .where(c.EXTERNAL_ID.eq("g4"))
        .execute();
    var reconcile =
        new dev.bucketflow.reconcile.ReconcileService(
            dsl,
            Engines.catalog(dsl, List.of(GATED)),
            new UserStates(new EventHistoryLoader()),
            TransitionWriter.withoutGenericEvents(),
            Clock.systemUTC(),
            100,
            arming);

    var sweep = reconcile.sweep("gated", progress -> {});

    assertThat(sweep.deferred()).isEqualTo(1);
    Instant deferred = expiresAt("gated", "g4");
    assertThat(deferred).isBefore(armed);
    assertWatchingToward(id, deferred);
  }

  void assertWatchingToward(String workflowId, Instant deadline) {
    assertThat(describe(workflowId).getStatus())
        .isEqualTo(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING);
    awaitDeadline(workflowId, deadline);
  }

  /** The signal is processed in a workflow task of its own: poll the query, with a deadline. */
  void awaitDeadline(String workflowId, Instant deadline) {
    String expected = deadline.truncatedTo(ChronoUnit.MILLIS).toString();
    long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!Instant.parse(deadlineOf(workflowId)).toString().equals(expected)) {
      assertThat(System.nanoTime())
          .as(
              "watch %s never slept toward %s (at %s)",
              workflowId, expected, deadlineOf(workflowId))
          .isLessThan(until);
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }
}
