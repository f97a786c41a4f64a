package dev.bucketflow.expiry;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The per-member durable timer, with time skipping: hours of workflow time pass in milliseconds.
 */
class ExpiryWorkflowTest {

  private static final String QUEUE = "expiry-test";
  private static final long HOUR = Duration.ofHours(1).toMillis();

  /**
   * One leaveOrExtend call: what was asked, and the workflow (test server) time it was asked at.
   */
  record Call(ExpiryRequest request, long atMillis) {}

  /** Answers leaveOrExtend from a script (LEFT once it runs out) and records every call. */
  static final class ScriptedExpiry implements ExpiryActivities {
    private final TestWorkflowEnvironment env;
    final ConcurrentLinkedQueue<ExpiryCheck> script = new ConcurrentLinkedQueue<>();
    final List<Call> calls = Collections.synchronizedList(new ArrayList<>());

    ScriptedExpiry(TestWorkflowEnvironment env) {
      this.env = env;
    }

    @Override
    public ExpiryCheck leaveOrExtend(ExpiryRequest armed) {
      calls.add(new Call(armed, env.currentTimeMillis()));
      ExpiryCheck next = script.poll();
      return next == null ? ExpiryCheck.left() : next;
    }
  }

  private TestWorkflowEnvironment env;
  private ScriptedExpiry activities;
  private WorkflowClient client;

  @BeforeEach
  void start() {
    env = TestWorkflowEnvironment.newInstance();
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(ExpiryWorkflowImpl.class);
    activities = new ScriptedExpiry(env);
    worker.registerActivitiesImplementations(activities);
    env.start();
    client = env.getWorkflowClient();
  }

  @AfterEach
  void stop() {
    env.close();
  }

  private ExpiryWorkflow stub(ExpiryRequest request) {
    return client.newWorkflowStub(
        ExpiryWorkflow.class,
        WorkflowOptions.newBuilder()
            .setWorkflowId(
                ExpiryWorkflow.workflowId(
                    request.bucketId(), request.userId(), request.entryCount()))
            .setTaskQueue(QUEUE)
            .build());
  }

  private ExpiryRequest armedIn(long millisFromNow) {
    return new ExpiryRequest("trial-idle", "u1", 3, env.currentTimeMillis() + millisFromNow);
  }

  /**
   * Polls in real time (time skipping stays locked between client calls) until the condition holds.
   */
  private static void awaitReal(BooleanSupplier condition) throws InterruptedException {
    dev.bucketflow.testing.RealTime.await(condition, Duration.ofSeconds(10));
  }

  @Test
  void aSleepingWatchShowsItsDeadlineAsCurrentDetails() {
    ExpiryRequest request = armedIn(2 * HOUR);
    ExpiryWorkflow wf = stub(request);
    io.temporal.client.WorkflowClient.start(wf::run, request);
    io.temporal.client.WorkflowStub untyped = io.temporal.client.WorkflowStub.fromTyped(wf);
    // The SDK's built-in metadata query carries what Workflow.setCurrentDetails last set.
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(
                        untyped
                            .query(
                                "__temporal_workflow_metadata",
                                io.temporal.api.sdk.v1.WorkflowMetadata.class)
                            .getCurrentDetails())
                    .isEqualTo(
                        "sleeping until "
                            + java.time.Instant.ofEpochMilli(request.deadlineMillis())
                            + ", then leave or extend"));
    untyped.getResult(Void.class);
  }

  @Test
  void sleepsUntilTheArmedDeadlineThenEndsOnLeft() {
    ExpiryRequest request = armedIn(2 * HOUR);
    long startedAt = env.currentTimeMillis();

    stub(request).run(request); // blocks; the test server skips the two hours

    assertThat(activities.calls).hasSize(1);
    Call call = activities.calls.get(0);
    assertThat(call.request()).isEqualTo(request);
    assertThat(call.atMillis())
        .as("called no earlier than the deadline")
        .isGreaterThanOrEqualTo(request.deadlineMillis())
        .as("and not long after it")
        .isLessThan(request.deadlineMillis() + Duration.ofMinutes(1).toMillis());
    assertThat(env.currentTimeMillis() - startedAt).isGreaterThanOrEqualTo(2 * HOUR);
  }

  @Test
  void extendedSleepsAgainUntilTheNewDeadlineAndAsksWithTheRearmedDeadline() {
    ExpiryRequest request = armedIn(HOUR);
    long next = request.deadlineMillis() + 3 * HOUR;
    long last = next + 5 * HOUR;
    activities.script.add(ExpiryCheck.extended(next));
    activities.script.add(ExpiryCheck.extended(last));
    activities.script.add(ExpiryCheck.left());

    stub(request).run(request);

    assertThat(activities.calls).hasSize(3);
    Call first = activities.calls.get(0);
    Call second = activities.calls.get(1);
    Call third = activities.calls.get(2);
    assertThat(first.request().deadlineMillis()).isEqualTo(request.deadlineMillis());
    assertThat(first.atMillis()).isGreaterThanOrEqualTo(request.deadlineMillis()).isLessThan(next);

    assertThat(second.request()).isEqualTo(request.rearmedAt(next));
    assertThat(second.atMillis()).isGreaterThanOrEqualTo(next).isLessThan(last);

    assertThat(third.request()).isEqualTo(request.rearmedAt(last));
    assertThat(third.atMillis()).isGreaterThanOrEqualTo(last);
  }

  @Test
  void goneEndsTheWorkflow() {
    ExpiryRequest request = armedIn(HOUR);
    activities.script.add(ExpiryCheck.extended(request.deadlineMillis() + HOUR));
    activities.script.add(ExpiryCheck.gone());
    activities.script.add(
        ExpiryCheck.extended(request.deadlineMillis() + 10 * HOUR)); // never reached

    ExpiryWorkflow workflow = stub(request);
    workflow.run(request);

    assertThat(activities.calls).hasSize(2);
    assertThat(activities.script).hasSize(1);
    String workflowId = WorkflowStub.fromTyped(workflow).getExecution().getWorkflowId();
    assertThat(
            client
                .fetchHistory(workflowId)
                .getLastEvent()
                .hasWorkflowExecutionCompletedEventAttributes())
        .isTrue();
    assertThat(WorkflowStub.fromTyped(workflow).describe().getStatus())
        .isEqualTo(WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED);
  }

  @Test
  void deadlineQueryReturnsTheInstantItSleepsToward() throws Exception {
    ExpiryRequest request = armedIn(HOUR);
    long next = request.deadlineMillis() + 2 * HOUR;
    activities.script.add(ExpiryCheck.extended(next));
    ExpiryWorkflow workflow = stub(request);
    WorkflowClient.start(workflow::run, request);

    // Time does not move between client calls: it is asleep toward the first deadline.
    assertThat(workflow.deadline())
        .isEqualTo(Instant.ofEpochMilli(request.deadlineMillis()).toString());
    assertThat(activities.calls).isEmpty();

    // Past the first deadline: it asks, is extended, and sleeps toward the new one.
    env.sleep(Duration.ofMillis(HOUR + Duration.ofMinutes(1).toMillis()));
    awaitReal(
        () ->
            activities.calls.size() == 1
                && workflow.deadline().equals(Instant.ofEpochMilli(next).toString()));
    assertThat(env.currentTimeMillis()).isLessThan(next);
    assertThat(activities.calls).hasSize(1);

    WorkflowStub.fromTyped(workflow).getResult(Void.class);
    assertThat(activities.calls).hasSize(2);
    assertThat(activities.calls.get(1).atMillis()).isGreaterThanOrEqualTo(next);
  }

  @Test
  void aDeadlineAlreadyPastIsCheckedAtOnce() {
    ExpiryRequest request = armedIn(-HOUR);
    long startedAt = env.currentTimeMillis();

    stub(request).run(request);

    assertThat(activities.calls).hasSize(1);
    assertThat(activities.calls.get(0).atMillis() - startedAt)
        .isLessThan(Duration.ofMinutes(1).toMillis());
  }

  // ------------------------------------------------------------ deadlines moved by a writer

  @Test
  void anEarlierSignalledDeadlineWakesTheWatchThen() throws InterruptedException {
    ExpiryRequest request = armedIn(10 * HOUR);
    long earlier = request.deadlineMillis() - 8 * HOUR;
    ExpiryWorkflow workflow = stub(request);
    WorkflowClient.start(workflow::run, request);
    // Signal only once the first timer is started: a signal that lands with the first workflow task
    // is seen before any timer exists, and then there is nothing to cancel (correct, but not this
    // case).
    String workflowId = WorkflowStub.fromTyped(workflow).getExecution().getWorkflowId();
    awaitReal(
        () ->
            client.fetchHistory(workflowId).getEvents().stream()
                .anyMatch(e -> e.hasTimerStartedEventAttributes()));
    workflow.deadlineMoved(earlier); // time stands still between client calls: it is still asleep

    WorkflowStub.fromTyped(workflow).getResult(Void.class);

    assertThat(activities.calls).hasSize(1);
    Call call = activities.calls.get(0);
    assertThat(call.request())
        .as("asks with the deadline it woke for")
        .isEqualTo(request.rearmedAt(earlier));
    assertThat(call.atMillis())
        .isGreaterThanOrEqualTo(earlier)
        .isLessThan(earlier + Duration.ofMinutes(1).toMillis());
    // The first timer was cancelled, not left to fire.
    var history = client.fetchHistory(workflowId);
    assertThat(
            history.getEvents().stream().filter(e -> e.hasTimerCanceledEventAttributes()).count())
        .isEqualTo(1);
    assertThat(history.getEvents().stream().filter(e -> e.hasTimerFiredEventAttributes()).count())
        .isEqualTo(1);
  }

  @Test
  void aLaterOrEqualSignalledDeadlineIsIgnored() {
    ExpiryRequest request = armedIn(2 * HOUR);
    ExpiryWorkflow workflow = stub(request);
    WorkflowClient.start(workflow::run, request);
    workflow.deadlineMoved(request.deadlineMillis() + 5 * HOUR);
    workflow.deadlineMoved(request.deadlineMillis());
    assertThat(workflow.deadline())
        .isEqualTo(Instant.ofEpochMilli(request.deadlineMillis()).toString());

    WorkflowStub.fromTyped(workflow).getResult(Void.class);

    assertThat(activities.calls).hasSize(1);
    Call call = activities.calls.get(0);
    assertThat(call.request()).isEqualTo(request);
    assertThat(call.atMillis())
        .isGreaterThanOrEqualTo(request.deadlineMillis())
        .isLessThan(request.deadlineMillis() + Duration.ofMinutes(1).toMillis());
  }

  @Test
  void aSignalledDeadlineAlreadyPastIsCheckedAtOnce() {
    ExpiryRequest request = armedIn(10 * HOUR);
    long startedAt = env.currentTimeMillis();
    ExpiryWorkflow workflow = stub(request);
    WorkflowClient.start(workflow::run, request);
    workflow.deadlineMoved(startedAt - HOUR);

    WorkflowStub.fromTyped(workflow).getResult(Void.class);

    assertThat(activities.calls).hasSize(1);
    assertThat(activities.calls.get(0).atMillis() - startedAt)
        .isLessThan(Duration.ofMinutes(1).toMillis());
  }

  /** Extension works as before, and an earlier deadline signalled after it is followed too. */
  @Test
  void anExtendedWatchFollowsAnEarlierDeadlineSignalledLater() throws Exception {
    ExpiryRequest request = armedIn(HOUR);
    long next = request.deadlineMillis() + 10 * HOUR;
    activities.script.add(ExpiryCheck.extended(next));
    activities.script.add(
        ExpiryCheck.extended(next)); // the re-check at the earlier instant: row still there
    ExpiryWorkflow workflow = stub(request);
    WorkflowClient.start(workflow::run, request);

    env.sleep(Duration.ofMillis(HOUR + Duration.ofMinutes(1).toMillis()));
    awaitReal(
        () ->
            activities.calls.size() == 1
                && workflow.deadline().equals(Instant.ofEpochMilli(next).toString()));
    long earlier = env.currentTimeMillis() + 2 * HOUR;
    workflow.deadlineMoved(earlier);
    awaitReal(() -> workflow.deadline().equals(Instant.ofEpochMilli(earlier).toString()));

    WorkflowStub.fromTyped(workflow).getResult(Void.class);

    assertThat(activities.calls).hasSize(3);
    assertThat(activities.calls.get(1).request()).isEqualTo(request.rearmedAt(earlier));
    assertThat(activities.calls.get(1).atMillis()).isGreaterThanOrEqualTo(earlier).isLessThan(next);
    // The activity answered "still extended to next": it sleeps on to next, then leaves.
    assertThat(activities.calls.get(2).request()).isEqualTo(request.rearmedAt(next));
    assertThat(activities.calls.get(2).atMillis()).isGreaterThanOrEqualTo(next);
  }
}
