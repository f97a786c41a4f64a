package dev.bucketflow.journeys;

import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.EMAIL_OUTBOX;
import static dev.bucketflow.schema.Tables.JOURNEY_STATES;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.bucket.WorkflowIds;
import dev.bucketflow.dispatch.DeliverySettings;
import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.dispatch.TransitionStream;
import dev.bucketflow.dispatch.TransitionTarget;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.journey.JourneyDefinition;
import dev.bucketflow.journey.JourneyRegistry;
import dev.bucketflow.journey.JourneyStatus;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import dev.bucketflow.testing.TestDatabase;
import io.grpc.StatusRuntimeException;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.history.v1.WorkflowExecutionStartedEventAttributes;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/** Outbox → journeys, against real PostgreSQL and Temporal's test environment. */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(3)
class JourneyRoutingTest {

  // Its own database, not DatabaseTest's: this long class then runs beside DatabaseTest's
  // subclasses (which take turns on that base's one database) instead of in their queue.
  @AutoClose static final TestDatabase db = TestDatabase.fresh();
  static final DSLContext dsl = db.dsl();

  static final String QUEUE = "bucketflow";
  static final BucketDefinition TRIAL =
      BucketDefinition.builder("trial").criteria(prop("plan").eq("trial")).build();
  static final BucketDefinition PRO =
      BucketDefinition.builder("pro").criteria(prop("plan").eq("pro")).build();
  static final JourneyDefinition WELCOME =
      JourneyDefinition.builder("trial-welcome")
          .triggerEvent("bucket:entered:trial")
          .exitOn("bucket:left:trial")
          .workflowType(WinbackJourney.TYPE)
          .entryLimit(EntryLimit.ONCE)
          .build();
  static final JourneyDefinition ANY_ENTRY =
      JourneyDefinition.builder("any-entry")
          .triggerEvent("bucket:entered")
          .workflowType(WinbackJourney.TYPE)
          .build();

  static final JourneyDefinition LOOP =
      JourneyDefinition.builder("loop")
          .triggerEvent("go")
          .exitOn("stop")
          .workflowType(WinbackJourney.TYPE)
          .build();

  TestWorkflowEnvironment env;
  JourneyRouter router;
  IngestService ingest;
  OutboxDispatcher dispatcher;
  BucketCatalog catalog;
  final AtomicInteger failuresLeft = new AtomicInteger();

  @AfterEach
  void stopTemporal() {
    if (env != null) env.close();
  }

  void wire(List<JourneyDefinition> journeyDefinitions) {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, ingest_batches, bucket_memberships, bucket_transitions, delivery_leases, "
            + "bucket_configs, journey_states, journey_outbox, email_outbox");
    env = TestWorkflowEnvironment.newInstance();
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(WinbackJourneyImpl.class);
    worker.registerActivitiesImplementations(
        new JourneyActivitiesImpl(dsl, new TableEmailSender(dsl), Clock.systemUTC()));
    env.start();
    JourneyRegistry journeys = new JourneyRegistry(journeyDefinitions);
    catalog = Engines.catalog(dsl, List.of(TRIAL, PRO));
    TransitionWriter writer = new TransitionWriter(journeys::wantsGenericTransition);
    router = new JourneyRouter(dsl, journeys, env.getWorkflowClient(), QUEUE, Clock.systemUTC());
    JourneyOutbox outbox = new JourneyOutbox(router);
    List<TransitionTarget> targets = new ArrayList<>();
    targets.add(
        row -> {
          if (failuresLeft.getAndDecrement() > 0)
            throw new IllegalStateException("simulated crash before dispatch");
        });
    targets.add(new JourneyTarget(router, catalog));
    // Retries due at once: these tests re-drain right after a failure.
    dispatcher =
        new OutboxDispatcher(
            dsl,
            List.of(new TransitionStream(targets), outbox),
            List.of(),
            DeliverySettings.DEFAULTS.withRetries(25, Duration.ofMillis(1), Duration.ofMillis(1)),
            Clock.systemUTC());
    ingest =
        new IngestService(
            dsl,
            new MembershipEngine(catalog, new MembershipStore(), new EventHistoryLoader(), writer),
            outbox,
            Clock.systemUTC());
  }

  void send(String user, String plan) {
    ingest.apply(
        batch(
            Clock.systemUTC().instant(),
            event(user, "plan.changed", "{\"plan\":\"" + plan + "\"}")));
  }

  int journeyRows(String journey, String user) {
    return dsl.fetchCount(
        JOURNEY_STATES, JOURNEY_STATES.JOURNEY_ID.eq(journey).and(JOURNEY_STATES.USER_ID.eq(user)));
  }

  String runIdOf(String workflowId) {
    return env.getWorkflowServiceStubs()
        .blockingStub()
        .describeWorkflowExecution(
            DescribeWorkflowExecutionRequest.newBuilder()
                .setNamespace(env.getNamespace())
                .setExecution(WorkflowExecution.newBuilder().setWorkflowId(workflowId))
                .build())
        .getWorkflowExecutionInfo()
        .getExecution()
        .getRunId();
  }

  /** How the one run of {@code journeyId} was started (its first history event). */
  WorkflowExecutionStartedEventAttributes startOf(String journeyId) {
    String workflowId =
        dsl.select(JOURNEY_STATES.WORKFLOW_ID)
            .from(JOURNEY_STATES)
            .where(JOURNEY_STATES.JOURNEY_ID.eq(journeyId))
            .fetchOne(JOURNEY_STATES.WORKFLOW_ID);
    return env.getWorkflowClient()
        .fetchHistory(workflowId)
        .getEvents()
        .get(0)
        .getWorkflowExecutionStartedEventAttributes();
  }

  /** A run recorded before the id encoding changed: its journey_states row holds the former id. */
  String recordLegacyRun(String user, String triggerKey) {
    String legacy = WorkflowIds.legacyJourney(LOOP.id(), user);
    dsl.insertInto(
            JOURNEY_STATES,
            JOURNEY_STATES.JOURNEY_ID,
            JOURNEY_STATES.USER_ID,
            JOURNEY_STATES.STATUS,
            JOURNEY_STATES.ENTRY_COUNT,
            JOURNEY_STATES.WORKFLOW_ID,
            JOURNEY_STATES.TRIGGER_EVENT,
            JOURNEY_STATES.TRIGGER_KEY)
        .values(LOOP.id(), user, JourneyStatus.RUNNING, 1, legacy, "go", triggerKey)
        .execute();
    return legacy;
  }

  void assertNoRun(String workflowId) {
    assertThatThrownBy(() -> runIdOf(workflowId))
        .isInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("NOT_FOUND");
  }

  @Test
  void aRunStartedUnderTheFormerIdIsStillExitedAndStillBlocksASecondRun() throws Exception {
    wire(List.of(LOOP));
    String legacy = recordLegacyRun("u1", "old-trigger");
    WorkflowStub old =
        env.getWorkflowClient()
            .newUntypedWorkflowStub(
                WinbackJourney.TYPE,
                WorkflowOptions.newBuilder().setWorkflowId(legacy).setTaskQueue(QUEUE).build());
    old.start(new JourneyInput(LOOP.id(), "u1", 1, "go", null, LOOP.settings()));

    router.route("u1", "go", null, "new-trigger"); // the old run is open: no second one
    assertThat(journeyRows("loop", "u1")).isEqualTo(1);
    assertNoRun(LOOP.workflowId("u1"));

    router.route("u1", "stop", null, "stop-trigger"); // reaches the old run by its recorded id
    old.getResult(10, TimeUnit.SECONDS, Void.class);
    assertThat(env.getWorkflowClient().newWorkflowStub(WinbackJourney.class, legacy).status())
        .isEqualTo("exited");
    var state =
        dsl.select(JOURNEY_STATES.STATUS, JOURNEY_STATES.EXIT_REASON)
            .from(JOURNEY_STATES)
            .fetchOne();
    assertThat(state.value1() + " " + state.value2()).isEqualTo("exited stop");
  }

  @Test
  void aReDeliveredTriggerRecordedUnderTheFormerIdStartsThatId() {
    wire(List.of(LOOP));
    // Recorded, then the worker died before the start; the trigger comes again after the upgrade.
    String legacy = recordLegacyRun("u2", "k-2");
    router.route("u2", "go", null, "k-2");
    assertThat(runIdOf(legacy)).isNotEmpty();
    assertNoRun(LOOP.workflowId("u2"));
    assertThat(journeyRows("loop", "u2")).isEqualTo(1);

    router.route("u3", "go", null, "k-3"); // a new run takes the new id
    assertThat(runIdOf("journey:loop:u3")).isNotEmpty();
  }

  @Test
  void aCrashBetweenCommitAndDispatchStillStartsTheJourneyExactlyOnce() {
    wire(List.of(WELCOME));
    failuresLeft.set(1);
    send("u1", "trial"); // committed; the dispatch step "crashes" below
    assertThat(dispatcher.drain()).isZero();
    assertThat(journeyRows("trial-welcome", "u1")).isZero();

    assertThat(dispatcher.drain()).isEqualTo(1); // the re-dispatch sweep
    assertThat(journeyRows("trial-welcome", "u1")).isEqualTo(1);
    String run = runIdOf("journey:trial-welcome:u1");

    // Dispatching the same row again starts nothing twice.
    dsl.update(BUCKET_TRANSITIONS).setNull(BUCKET_TRANSITIONS.DISPATCHED_AT).execute();
    assertThat(dispatcher.drain()).isEqualTo(1);
    assertThat(journeyRows("trial-welcome", "u1")).isEqualTo(1);
    assertThat(runIdOf("journey:trial-welcome:u1")).isEqualTo(run);
  }

  @Test
  void entryLimitOnceEnrollsAUserOnceAcrossTwoBucketEntries() {
    wire(List.of(WELCOME));
    send("u1", "trial");
    dispatcher.drain();
    send("u1", "pro");
    dispatcher.drain();
    send("u1", "trial");
    dispatcher.drain();

    assertThat(
            dsl.fetchCount(
                BUCKET_TRANSITIONS,
                BUCKET_TRANSITIONS
                    .BUCKET_ID
                    .eq("trial")
                    .and(BUCKET_TRANSITIONS.KIND.eq(TransitionKind.ENTERED))))
        .isEqualTo(2);
    assertThat(journeyRows("trial-welcome", "u1")).isEqualTo(1);
    assertThat(
            dsl.select(JOURNEY_STATES.STATUS).from(JOURNEY_STATES).fetchOne(JOURNEY_STATES.STATUS))
        .isEqualTo(JourneyStatus.EXITED);
  }

  @Test
  void aJourneyOnTheGenericEventReceivesEntriesOfEveryBucket() {
    wire(List.of(ANY_ENTRY));
    send("u1", "trial");
    send("u2", "pro");
    dispatcher.drain();

    assertThat(journeyRows("any-entry", "u1")).isEqualTo(1);
    assertThat(journeyRows("any-entry", "u2")).isEqualTo(1);
    assertThat(
            dsl.select(JOURNEY_STATES.TRIGGER_EVENT)
                .from(JOURNEY_STATES)
                .fetch(JOURNEY_STATES.TRIGGER_EVENT))
        .containsOnly("bucket:entered");
    assertThat(dsl.fetchCount(USER_EVENTS, USER_EVENTS.EVENT.eq("bucket:entered"))).isEqualTo(2);
  }

  @Test
  void withoutAGenericJourneyNoGenericEventIsWritten() {
    wire(List.of(WELCOME));
    send("u1", "trial");
    assertThat(dsl.fetchCount(USER_EVENTS, USER_EVENTS.EVENT.eq("bucket:entered:trial")))
        .isEqualTo(1);
    assertThat(dsl.fetchCount(USER_EVENTS, USER_EVENTS.EVENT.eq("bucket:entered"))).isZero();
  }

  @Test
  void anOrdinaryEventTriggersAJourneyThroughTheJourneyOutbox() {
    JourneyDefinition onSignup =
        JourneyDefinition.builder("onboarding")
            .triggerEvent("signup")
            .workflowType(WinbackJourney.TYPE)
            .build();
    wire(List.of(onSignup));
    ingest.apply(batch(Clock.systemUTC().instant(), event("u9", "signup")));
    assertThat(journeyRows("onboarding", "u9")).isZero(); // only after commit + dispatch
    dispatcher.drain();
    assertThat(journeyRows("onboarding", "u9")).isEqualTo(1);
  }

  @Test
  void aJourneyStartsBelowTheDefaultPriorityThatIngestShardsRunAt() {
    wire(List.of(LOOP));
    ingest.apply(batch(Clock.systemUTC().instant(), event("u-prio", "go")));
    dispatcher.drain();
    // Lower first, default 3: the shards' tasks (started by clients, at the default) go first.
    assertThat(startOf(LOOP.id()).getPriority().getPriorityKey()).isEqualTo(4);
  }

  /**
   * A journey start asks for eager execution (the first workflow task handed back to the starting
   * worker when it polls the journey's queue); the start options are read by a client interceptor.
   */
  @Test
  void aJourneyStartRequestsEagerExecution() {
    wire(List.of(LOOP));
    List<io.temporal.client.WorkflowOptions> starts =
        java.util.Collections.synchronizedList(new ArrayList<>());
    io.temporal.common.interceptors.WorkflowClientInterceptorBase capture =
        new io.temporal.common.interceptors.WorkflowClientInterceptorBase() {
          @Override
          public io.temporal.client.WorkflowStub newUntypedWorkflowStub(
              String workflowType,
              io.temporal.client.WorkflowOptions options,
              io.temporal.client.WorkflowStub next) {
            starts.add(options);
            return next;
          }
        };
    io.temporal.client.WorkflowClient client =
        io.temporal.client.WorkflowClient.newInstance(
            env.getWorkflowServiceStubs(),
            io.temporal.client.WorkflowClientOptions.newBuilder()
                .setNamespace(env.getNamespace())
                .setInterceptors(capture)
                .build());
    JourneyRouter eager =
        new JourneyRouter(
            dsl, new JourneyRegistry(List.of(LOOP)), client, QUEUE, Clock.systemUTC());
    eager.route("u-eager", "go", null, "go:u-eager:1");
    assertThat(starts).hasSize(1);
    assertThat(starts.get(0).isDisableEagerExecution()).isFalse();
    assertThat(journeyRows(LOOP.id(), "u-eager")).isEqualTo(1);
  }

  @Test
  void aTriggerDeliveredAgainAfterItsJourneyFinishedStartsNoSecondRunAndSendsNoSecondEmail()
      throws Exception {
    com.fasterxml.jackson.databind.node.ObjectNode quick =
        com.fasterxml.jackson.databind.node.JsonNodeFactory.instance
            .objectNode()
            .put("followUpAfter", "PT1S");
    JourneyDefinition oneSecond =
        JourneyDefinition.builder("quick")
            .triggerEvent("go")
            .workflowType(WinbackJourney.TYPE)
            .settings(quick)
            .build();
    wire(List.of(oneSecond));
    router.route("u1", "go", null, "trigger-1");
    String workflowId = oneSecond.workflowId("u1");
    String run = runIdOf(workflowId);
    env.getWorkflowClient()
        .newUntypedWorkflowStub(workflowId)
        .getResult(20, TimeUnit.SECONDS, Void.class);
    assertThat(dsl.fetchCount(EMAIL_OUTBOX)).isEqualTo(2); // first + follow-up, one run

    // Delivered again, once with the run's end recorded and once as if the delivery that started it
    // died before recording anything (another SDK's journey never reports its end).
    router.route("u1", "go", null, "trigger-1");
    dsl.update(JOURNEY_STATES)
        .set(JOURNEY_STATES.STATUS, JourneyStatus.RUNNING)
        .setNull(JOURNEY_STATES.RUN_ID)
        .setNull(JOURNEY_STATES.ENDED_AT)
        .execute();
    router.route("u1", "go", null, "trigger-1");

    assertThat(runIdOf(workflowId)).isEqualTo(run);
    assertThat(journeyRows("quick", "u1")).isEqualTo(1);
    assertThat(dsl.fetchCount(EMAIL_OUTBOX)).isEqualTo(2);
    var state =
        dsl.select(JOURNEY_STATES.STATUS, JOURNEY_STATES.RUN_ID).from(JOURNEY_STATES).fetchOne();
    assertThat(state.value1())
        .isEqualTo(JourneyStatus.COMPLETED); // the re-delivery learnt the run is over
    assertThat(state.value2()).isEqualTo(run);

    // A new trigger starts the next entry under the same id.
    router.route("u1", "go", null, "trigger-2");
    assertThat(runIdOf(workflowId)).isNotEqualTo(run);
    assertThat(journeyRows("quick", "u1")).isEqualTo(2);
  }

  /**
   * oncePer(7 days): a trigger starts a run only once the latest start (not the first start, not
   * the latest end) is at least the period old, whatever became of that run; entries count on.
   */
  @Test
  void oncePerPeriodStartsAgainOnlyOnceThePeriodSinceTheLatestStartHasPassed() throws Exception {
    JourneyDefinition weekly =
        JourneyDefinition.builder("weekly")
            .triggerEvent("go")
            .exitOn("stop")
            .workflowType(WinbackJourney.TYPE)
            .oncePer(Duration.ofDays(7))
            .build();
    wire(List.of(weekly));
    Instant t0 = Instant.parse("2026-03-01T00:00:00Z");
    MutableClock clock = new MutableClock(t0);
    JourneyRouter timed =
        new JourneyRouter(
            dsl, new JourneyRegistry(List.of(weekly)), env.getWorkflowClient(), QUEUE, clock);
    String workflowId = weekly.workflowId("u1");
    timed.route("u1", "go", null, "go-1"); // entry 1 starts at t0
    clock.set(t0.plus(Duration.ofDays(1)));
    stopAndWait(timed, workflowId, "stop-1"); // and ends a day later
    clock.set(t0.plus(Duration.ofDays(7)).minusSeconds(1));
    timed.route("u1", "go", null, "go-2");
    assertThat(journeyRows("weekly", "u1")).as("inside the period: no second run").isEqualTo(1);

    clock.set(t0.plus(Duration.ofDays(7))); // 7 days after the start, only 6 after the end
    timed.route("u1", "go", null, "go-3");
    assertThat(journeyRows("weekly", "u1")).as("the period counts from the start").isEqualTo(2);
    stopAndWait(timed, workflowId, "stop-2");

    clock.set(t0.plus(Duration.ofDays(13))); // 13 days after the first start, 6 after the latest
    timed.route("u1", "go", null, "go-4");
    assertThat(journeyRows("weekly", "u1")).as("from the latest start").isEqualTo(2);
    clock.set(t0.plus(Duration.ofDays(14)));
    timed.route("u1", "go", null, "go-5");
    assertThat(
            dsl.select(
                    JOURNEY_STATES.ENTRY_COUNT, JOURNEY_STATES.TRIGGER_KEY, JOURNEY_STATES.STATUS)
                .from(JOURNEY_STATES)
                .orderBy(JOURNEY_STATES.ENTRY_COUNT)
                .fetch()
                .map(r -> r.value1() + ":" + r.value2() + ":" + r.value3()))
        .containsExactly("1:go-1:exited", "2:go-3:exited", "3:go-5:running");
  }

  /** Exits u1's run through {@code router} and waits until it has closed. */
  void stopAndWait(JourneyRouter router, String workflowId, String triggerKey) throws Exception {
    router.route("u1", "stop", null, triggerKey);
    env.getWorkflowClient()
        .newUntypedWorkflowStub(workflowId)
        .getResult(20, TimeUnit.SECONDS, Void.class);
  }

  @Test
  void aStalledDelivererAndItsSuccessorBringOneUsersJoinAndLeaveToTheJourneyInOrder()
      throws Exception {
    wire(List.of(WELCOME));
    send("u1", "trial");
    send("u1", "pro"); // committed: entered trial e1, then left trial e1
    // A 3 s lease: short enough to lapse within the wait below, long enough that a pause of the
    // test thread between taking it and asserting it busy does not let it lapse first.
    DeliverySettings shortLease =
        new DeliverySettings(
            3,
            Duration.ofSeconds(1),
            Duration.ofSeconds(1),
            Duration.ofSeconds(3),
            Duration.ofSeconds(20),
            100,
            Duration.ofSeconds(15),
            Duration.ZERO);
    java.util.concurrent.CountDownLatch inGate = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    TransitionTarget stall =
        row -> {
          if (row.entered() && inGate.getCount() > 0) {
            inGate.countDown();
            release.await(
                20, TimeUnit.SECONDS); // the first deliverer stalls before reaching journeys
          }
        };
    JourneyTarget journeys = new JourneyTarget(router, catalog);
    OutboxDispatcher first =
        new OutboxDispatcher(
            dsl,
            List.of(new TransitionStream(List.of(stall, journeys))),
            List.of(),
            shortLease,
            Clock.systemUTC());
    OutboxDispatcher second =
        new OutboxDispatcher(
            dsl,
            List.of(new TransitionStream(List.of(journeys))),
            List.of(),
            shortLease,
            Clock.systemUTC());
    var stalled =
        java.util.concurrent.CompletableFuture.supplyAsync(() -> first.deliver(0, 1, () -> {}));
    assertThat(inGate.await(10, TimeUnit.SECONDS)).isTrue();
    // While the first holds the lease the second delivers nothing; once it lapsed, the second takes
    // over.
    assertThat(second.deliver(0, 1, () -> {}).leaseBusy()).isTrue();
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> !second.deliver(0, 1, () -> {}).leaseBusy());
    String workflowId = WELCOME.workflowId("u1");
    env.getWorkflowClient()
        .newUntypedWorkflowStub(workflowId)
        .getResult(20, TimeUnit.SECONDS, Void.class);

    release.countDown();
    assertThat(stalled.get(10, TimeUnit.SECONDS).leaseBusy())
        .as("the stalled deliverer noticed and stopped")
        .isTrue();
    first.drain(); // and whatever it might still deliver changes nothing
    var state =
        dsl.select(JOURNEY_STATES.STATUS, JOURNEY_STATES.EXIT_REASON)
            .from(JOURNEY_STATES)
            .fetchOne();
    assertThat(state.value1() + " " + state.value2()).isEqualTo("exited bucket:left:trial");
    assertThat(journeyRows("trial-welcome", "u1")).isEqualTo(1);
    assertThat(runIdOf(workflowId))
        .isEqualTo(
            dsl.select(JOURNEY_STATES.RUN_ID).from(JOURNEY_STATES).fetchOne(JOURNEY_STATES.RUN_ID));
    assertThat(dsl.fetchCount(EMAIL_OUTBOX))
        .isEqualTo(1); // the first email only: it left before the follow-up
  }

  @Test
  void aJourneyTriggeredByALeaveReceivesTheLeaveReasonInItsInput() {
    JourneyDefinition onLeave =
        JourneyDefinition.builder("trial-lost")
            .triggerEvent("bucket:left:trial")
            .workflowType(WinbackJourney.TYPE)
            .build();
    wire(List.of(onLeave));
    send("u1", "trial");
    send("u1", "pro");
    dispatcher.drain();

    String input = startOf("trial-lost").getInput().getPayloads(0).getData().toStringUtf8();
    assertThat(input)
        .contains("\"triggerEvent\":\"bucket:left:trial\"")
        .contains("\"reason\":\"criteria\"");
  }

  /**
   * Dwell events reach journeys like any event: a journey bound to {@code bucket:dwell:<id>} starts
   * once per epoch however often the sweep runs, and a new epoch's dwell starts the next one.
   */
  @Test
  void aJourneyBoundToADwellEventStartsOncePerEpoch() {
    JourneyDefinition stayed =
        JourneyDefinition.builder("stayed-pro")
            .triggerEvent("bucket:dwell:pro-dwell")
            .exitOn("bucket:left:pro-dwell")
            .workflowType(WinbackJourney.TYPE)
            .build();
    wire(List.of(stayed));
    BucketDefinition dwelling =
        BucketDefinition.builder("pro-dwell")
            .criteria(prop("plan").eq("pro"))
            .dwell(Duration.ofDays(3))
            .build();
    JourneyRegistry journeys = new JourneyRegistry(List.of(stayed));
    JourneyOutbox outbox = new JourneyOutbox(router);
    TransitionWriter writer =
        new TransitionWriter(journeys::wantsGenericTransition, 8, outbox::record);
    catalog = Engines.catalog(dsl, List.of(TRIAL, PRO, dwelling));
    dsl.update(dev.bucketflow.schema.Tables.BUCKET_CONFIGS)
        .set(dev.bucketflow.schema.Tables.BUCKET_CONFIGS.DWELL_SINCE, java.time.Instant.EPOCH)
        .execute();
    ingest =
        new IngestService(
            dsl,
            new MembershipEngine(catalog, new MembershipStore(), new EventHistoryLoader(), writer),
            outbox,
            Clock.systemUTC());
    dev.bucketflow.testing.MutableClock later =
        new dev.bucketflow.testing.MutableClock(Clock.systemUTC().instant());
    var sweeps =
        new dev.bucketflow.reconcile.ReconcileService(
            dsl,
            catalog,
            new dev.bucketflow.membership.UserStates(new EventHistoryLoader()),
            writer,
            later,
            100,
            null);

    send("u1", "pro");
    later.advance(Duration.ofDays(3).plusSeconds(1));
    sweeps.sweep("pro-dwell", p -> {});
    sweeps.sweep("pro-dwell", p -> {});
    dispatcher.drain();
    assertThat(journeyRows("stayed-pro", "u1")).isEqualTo(1);
    assertThat(
            dsl.select(JOURNEY_STATES.TRIGGER_EVENT)
                .from(JOURNEY_STATES)
                .fetchOne(JOURNEY_STATES.TRIGGER_EVENT))
        .isEqualTo("bucket:dwell:pro-dwell");

    send("u1", "free"); // leaves epoch 1: the run exits
    send("u1", "pro");
    later.set(Clock.systemUTC().instant().plus(Duration.ofDays(3).plusSeconds(1)));
    sweeps.sweep("pro-dwell", p -> {});
    dispatcher.drain();
    assertThat(
            dsl.select(JOURNEY_STATES.ENTRY_COUNT)
                .from(JOURNEY_STATES)
                .where(JOURNEY_STATES.JOURNEY_ID.eq("stayed-pro"))
                .orderBy(JOURNEY_STATES.ENTRY_COUNT)
                .fetch(JOURNEY_STATES.ENTRY_COUNT))
        .as("epoch 2's dwell started the second run")
        .containsExactly(1, 2);
  }
}
