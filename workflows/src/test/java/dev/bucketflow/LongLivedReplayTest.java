package dev.bucketflow;

import static dev.bucketflow.ReplayTest.QUEUE;
import static dev.bucketflow.ReplayTest.WRITE_PROPERTY;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.backfill.BackfillActivities;
import dev.bucketflow.backfill.BackfillJob;
import dev.bucketflow.backfill.BackfillRequest;
import dev.bucketflow.backfill.BackfillWorkflow;
import dev.bucketflow.backfill.BackfillWorkflowImpl;
import dev.bucketflow.backfill.ChunkResult;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;
import dev.bucketflow.delivery.DeliveryActivities;
import dev.bucketflow.delivery.DeliveryPass;
import dev.bucketflow.delivery.DeliveryRequest;
import dev.bucketflow.delivery.DeliveryWorkflow;
import dev.bucketflow.delivery.DeliveryWorkflowImpl;
import dev.bucketflow.journey.JourneyStatus;
import dev.bucketflow.journeys.EmailRequest;
import dev.bucketflow.journeys.JourneyActivities;
import dev.bucketflow.journeys.JourneyEnd;
import dev.bucketflow.journeys.JourneyInput;
import dev.bucketflow.journeys.WinbackJourney;
import dev.bucketflow.journeys.WinbackJourneyImpl;
import io.temporal.activity.ActivityOptions;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.WorkflowExecutionHistory;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.WorkflowReplayer;
import io.temporal.worker.Worker;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Replay tests (live and golden, see {@link ReplayTest} for the rules) of the other workflows that
 * live long: the per-shard {@code OutboxDelivery} (it never ends), {@code WinbackJourney} (days,
 * and the shape of its email keys changed under {@code getVersion}) and {@code BucketBackfill}
 * (hours).
 *
 * <p>Record: {@code mvn -B -q -pl workflows test -Dtest=LongLivedReplayTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Dbucketflow.writeHistories=delivery,winback,backfill}.
 */
class LongLivedReplayTest {

  static final String DELIVERY = "histories/delivery.json";

  /**
   * A run recorded before the email keys named the entry (no version marker): must still replay.
   */
  static final String WINBACK_V0 = "histories/winback-v0.json";

  /**
   * A run recorded while the emails were activity tasks (email keys naming the entry, no {@code
   * local-email} marker): must still replay.
   */
  static final String WINBACK = "histories/winback.json";

  /** The current shape: emails as local activities. */
  static final String WINBACK_LOCAL_EMAIL = "histories/winback-local-email.json";

  static final String BACKFILL = "histories/backfill.json";

  // ---------------------------------------------------------------- realistic executions

  /** Scripted passes: more, then a retry due, then a busy lease, then idle. */
  static final class ScriptedDelivery implements DeliveryActivities {
    final AtomicInteger passes = new AtomicInteger();

    @Override
    public DeliveryPass deliver(int shard, int shards) {
      int n = passes.incrementAndGet();
      long now =
          io.temporal.activity.Activity.getExecutionContext()
              .getInfo()
              .getCurrentAttemptScheduledTimestamp();
      return switch (n) {
        case 1 -> new DeliveryPass(500, 0, 0, true, 0, false);
        case 2 -> new DeliveryPass(120, 3, 0, false, now + 5_000, false);
        case 3 -> DeliveryPass.busy();
        case 4 -> new DeliveryPass(3, 0, 1, false, 0, false);
        default -> new DeliveryPass(0, 0, 0, false, 0, false);
      };
    }
  }

  static WorkflowExecutionHistory runDelivery(TestWorkflowEnvironment env) {
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(DeliveryWorkflowImpl.class);
    ScriptedDelivery activities = new ScriptedDelivery();
    worker.registerActivitiesImplementations(activities);
    env.start();
    WorkflowClient client = env.getWorkflowClient();
    String id = DeliveryWorkflow.workflowId(3);
    DeliveryWorkflow wf =
        client.newWorkflowStub(
            DeliveryWorkflow.class,
            WorkflowOptions.newBuilder().setWorkflowId(id).setTaskQueue(QUEUE).build());
    WorkflowClient.start(wf::run, new DeliveryRequest(3, 8, 15_000));
    env.sleep(
        Duration.ofSeconds(10)); // passes 1-4: at once, after the due retry, after the busy lease
    wf.wake(); // a writer committed: pass 5 at once
    env.sleep(Duration.ofSeconds(40)); // then the poll: pass 6 and on
    assertThat(activities.passes.get()).isGreaterThanOrEqualTo(6);
    return client.fetchHistory(id);
  }

  /** Records the emails and the end, as the real activities do. */
  static class RecordingJourney implements JourneyActivities {
    final List<String> emails = Collections.synchronizedList(new ArrayList<>());
    final ConcurrentLinkedQueue<JourneyEnd> ends = new ConcurrentLinkedQueue<>();

    @Override
    public void sendEmail(EmailRequest request) {
      emails.add(request.template() + "@" + request.idempotencyKey());
    }

    @Override
    public void journeyEnded(JourneyEnd end) {
      ends.add(end);
    }
  }

  record WinbackRuns(List<WorkflowExecutionHistory> runs, List<String> emails) {
    WorkflowExecutionHistory get(int i) {
      return runs.get(i);
    }
  }

  /** Two runs of one journey id: the first completes (both emails), the second is exited. */
  static WinbackRuns runWinback(TestWorkflowEnvironment env, Class<?> impl) throws Exception {
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(impl);
    RecordingJourney activities = new RecordingJourney();
    worker.registerActivitiesImplementations(activities);
    env.start();
    WorkflowClient client = env.getWorkflowClient();
    ObjectNode settings = JsonNodeFactory.instance.objectNode().put("followUpAfter", "PT1H");
    String id = "journey:winback:u1";
    List<WorkflowExecutionHistory> runs = new ArrayList<>();
    for (int entry = 1; entry <= 2; entry++) {
      WorkflowStub stub =
          client.newUntypedWorkflowStub(
              WinbackJourney.TYPE,
              WorkflowOptions.newBuilder()
                  .setWorkflowId(id)
                  .setTaskQueue(QUEUE)
                  .setWorkflowIdReusePolicy(
                      io.temporal.api.enums.v1.WorkflowIdReusePolicy
                          .WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE)
                  .build());
      var execution =
          stub.start(
              new JourneyInput("winback", "u1", entry, "bucket:entered:dormant", null, settings));
      if (entry == 2) {
        env.sleep(Duration.ofMinutes(10));
        client.newUntypedWorkflowStub(id).signal("exit", "bucket:left:dormant");
      }
      stub.getResult(30, TimeUnit.SECONDS, Void.class);
      runs.add(client.fetchHistory(id, execution.getRunId()));
    }
    assertThat(activities.emails).hasSize(3);
    return new WinbackRuns(runs, List.copyOf(activities.emails));
  }

  static final class ChunkedBackfill implements BackfillActivities {
    final AtomicInteger chunks = new AtomicInteger();

    @Override
    public BackfillJob open(BackfillRequest request) {
      return new BackfillJob(
          7,
          request.bucketId(),
          request.criteriaHash(),
          request.kind(),
          BackfillStatus.RUNNING,
          30,
          0,
          0,
          0,
          null);
    }

    @Override
    public ChunkResult runChunk(long jobId) {
      int n = chunks.incrementAndGet();
      return new ChunkResult(n * 10L, 30, 4, n == 2 ? 1 : 0, n == 3);
    }

    @Override
    public void complete(long jobId) {}

    @Override
    public void fail(long jobId, String error) {}
  }

  static WorkflowExecutionHistory runBackfill(TestWorkflowEnvironment env) {
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(BackfillWorkflowImpl.class);
    worker.registerActivitiesImplementations(new ChunkedBackfill());
    env.start();
    WorkflowClient client = env.getWorkflowClient();
    String id = BackfillWorkflow.workflowId("power-users", "0123456789abcdef0123");
    BackfillWorkflow wf =
        client.newWorkflowStub(
            BackfillWorkflow.class,
            WorkflowOptions.newBuilder().setWorkflowId(id).setTaskQueue(QUEUE).build());
    assertThat(
            wf.run(new BackfillRequest("power-users", "0123456789abcdef0123", BackfillKind.REEVAL))
                .status())
        .isEqualTo(BackfillStatus.COMPLETED);
    return client.fetchHistory(id);
  }

  /**
   * WinbackJourneyImpl as it was before the email keys named the entry: the shape running journeys
   * may have.
   */
  public static class WinbackJourneyV0 implements WinbackJourney {
    private final JourneyActivities activities =
        Workflow.newActivityStub(
            JourneyActivities.class,
            ActivityOptions.newBuilder().setStartToCloseTimeout(Duration.ofSeconds(30)).build());
    private String exitReason;
    private String status = "waiting";

    @Override
    public void run(JourneyInput input) {
      String key = Workflow.getInfo().getWorkflowId() + ":" + Workflow.getInfo().getRunId();
      if (exitReason == null) {
        activities.sendEmail(
            new EmailRequest(input.journeyId(), input.userId(), "winback", key + ":first"));
        Workflow.await(Duration.ofHours(1), () -> exitReason != null);
      }
      if (exitReason == null) {
        activities.sendEmail(
            new EmailRequest(
                input.journeyId(), input.userId(), "winback-follow-up", key + ":follow-up"));
        status = "completed";
      } else {
        status = "exited";
      }
      activities.journeyEnded(
          new JourneyEnd(
              input.journeyId(),
              input.userId(),
              input.entryCount(),
              JourneyStatus.fromDb(status),
              exitReason));
    }

    @Override
    public void exit(String reason) {
      if (exitReason == null) exitReason = reason == null ? "exit" : reason;
    }

    @Override
    public String status() {
      return status;
    }
  }

  /**
   * WinbackJourneyImpl as it was before {@link WinbackJourneyImpl#LOCAL_EMAIL}: email keys name the
   * entry, emails are activity tasks.
   */
  public static class WinbackJourneyV1 implements WinbackJourney {
    private final JourneyActivities activities =
        Workflow.newActivityStub(
            JourneyActivities.class,
            ActivityOptions.newBuilder().setStartToCloseTimeout(Duration.ofSeconds(30)).build());
    private String exitReason;
    private String status = "waiting";

    @Override
    public void run(JourneyInput input) {
      int keyVersion = Workflow.getVersion("email-key-per-entry", Workflow.DEFAULT_VERSION, 1);
      String key =
          Workflow.getInfo().getWorkflowId()
              + ":"
              + (keyVersion == Workflow.DEFAULT_VERSION
                  ? Workflow.getInfo().getRunId()
                  : "entry-" + input.entryCount());
      if (exitReason == null) {
        activities.sendEmail(
            new EmailRequest(input.journeyId(), input.userId(), "winback", key + ":first"));
        Workflow.await(Duration.ofHours(1), () -> exitReason != null);
      }
      if (exitReason == null) {
        activities.sendEmail(
            new EmailRequest(
                input.journeyId(), input.userId(), "winback-follow-up", key + ":follow-up"));
      }
      status = exitReason == null ? "completed" : "exited";
      activities.journeyEnded(
          new JourneyEnd(
              input.journeyId(),
              input.userId(),
              input.entryCount(),
              JourneyStatus.fromDb(status),
              exitReason));
    }

    @Override
    public void exit(String reason) {
      if (exitReason == null) exitReason = reason == null ? "exit" : reason;
    }

    @Override
    public String status() {
      return status;
    }
  }

  // ---------------------------------------------------------------- live replays

  @Test
  void deliveryReplays() throws Exception {
    WorkflowExecutionHistory history;
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      history = runDelivery(env);
    }
    assertThat(ReplayTest.count(history, HistoryEvent::hasWorkflowExecutionSignaledEventAttributes))
        .isEqualTo(1);
    ReplayTest.replay(history, DeliveryWorkflowImpl.class);
  }

  @Test
  void winbackReplaysAndItsEmailKeysNameTheEntry() throws Exception {
    WinbackRuns runs;
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      runs = runWinback(env, WinbackJourneyImpl.class);
    }
    for (WorkflowExecutionHistory run : runs.runs())
      ReplayTest.replay(run, WinbackJourneyImpl.class);
    assertThat(runs.emails())
        .containsExactly(
            "winback@journey:winback:u1:entry-1:first",
            "winback-follow-up@journey:winback:u1:entry-1:follow-up",
            "winback@journey:winback:u1:entry-2:first");
    // The completed run: its two emails are local-activity markers, its one activity task the
    // end; two version markers (email keys per entry, local emails).
    assertThat(ReplayTest.count(runs.get(0), LongLivedReplayTest::isLocalActivityMarker))
        .isEqualTo(2);
    assertThat(ReplayTest.count(runs.get(0), HistoryEvent::hasActivityTaskScheduledEventAttributes))
        .isEqualTo(1);
    assertThat(ReplayTest.count(runs.get(0), HistoryEvent::hasMarkerRecordedEventAttributes))
        .isEqualTo(4);
    // The exited run sent its first email only, as a local activity.
    assertThat(ReplayTest.count(runs.get(1), LongLivedReplayTest::isLocalActivityMarker))
        .isEqualTo(1);
  }

  private static boolean isLocalActivityMarker(HistoryEvent e) {
    return e.hasMarkerRecordedEventAttributes()
        && e.getMarkerRecordedEventAttributes().getMarkerName().equals("LocalActivity");
  }

  /** Refuses every email as a local activity; sends it as an activity task. */
  static final class LocalSendsFail extends RecordingJourney {
    final AtomicInteger localAttempts = new AtomicInteger();

    @Override
    public void sendEmail(EmailRequest request) {
      if (io.temporal.activity.Activity.getExecutionContext().getInfo().isLocal()) {
        localAttempts.incrementAndGet();
        throw io.temporal.failure.ApplicationFailure.newNonRetryableFailure(
            "provider down", "EmailFailed");
      }
      emails.add(request.template() + "@" + request.idempotencyKey());
    }
  }

  /**
   * A provider that hangs on the first email when called as a local activity, past the local
   * budget; otherwise it sends.
   */
  static final class LocalFirstEmailHangs extends RecordingJourney {
    final AtomicInteger hung = new AtomicInteger();

    @Override
    public void sendEmail(EmailRequest request) {
      boolean local = io.temporal.activity.Activity.getExecutionContext().getInfo().isLocal();
      if (local && request.idempotencyKey().endsWith(":first")) {
        hung.incrementAndGet();
        try {
          Thread.sleep(WinbackJourneyImpl.LOCAL_EMAIL_BUDGET.toMillis() + 2_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return; // too late: the workflow has moved on to the activity task
      }
      emails.add((local ? "local:" : "task:") + request.idempotencyKey());
    }
  }

  /**
   * One run of the current WinbackJourney for {@code user} (entry 1, follow-up after an hour) on
   * {@code activities}, to its end; its history.
   */
  static WorkflowExecutionHistory runWinbackOnce(
      JourneyActivities activities, String user, Duration wait) throws Exception {
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      Worker worker = env.newWorker(QUEUE);
      worker.registerWorkflowImplementationTypes(WinbackJourneyImpl.class);
      worker.registerActivitiesImplementations(activities);
      env.start();
      WorkflowClient client = env.getWorkflowClient();
      String id = "journey:winback:" + user;
      WorkflowStub stub =
          client.newUntypedWorkflowStub(
              WinbackJourney.TYPE,
              WorkflowOptions.newBuilder().setWorkflowId(id).setTaskQueue(QUEUE).build());
      ObjectNode settings = JsonNodeFactory.instance.objectNode().put("followUpAfter", "PT1H");
      stub.start(new JourneyInput("winback", user, 1, "bucket:entered:dormant", null, settings));
      stub.getResult(wait.toMillis(), TimeUnit.MILLISECONDS, Void.class);
      return client.fetchHistory(id);
    }
  }

  @Test
  void anEmailTheLocalActivityCannotSendGoesToAnActivityTaskAndReplays() throws Exception {
    LocalSendsFail activities = new LocalSendsFail();
    WorkflowExecutionHistory history = runWinbackOnce(activities, "u9", Duration.ofSeconds(30));
    assertThat(activities.emails)
        .containsExactly(
            "winback@journey:winback:u9:entry-1:first",
            "winback-follow-up@journey:winback:u9:entry-1:follow-up");
    assertThat(activities.localAttempts).hasValue(2);
    // Both emails and the end as activity tasks, after a failed local attempt each.
    assertThat(ReplayTest.count(history, HistoryEvent::hasActivityTaskScheduledEventAttributes))
        .isEqualTo(3);
    assertThat(ReplayTest.count(history, LongLivedReplayTest::isLocalActivityMarker)).isEqualTo(2);
    ReplayTest.replay(history, WinbackJourneyImpl.class);
  }

  /**
   * A local email that outlives its budget (a hung provider) is sent by an activity task, within
   * the first workflow task's lifetime: it never stays inside a task the SDK would refresh and,
   * without sticky execution, replay from the start. The follow-up goes local again.
   */
  @Test
  void aLocalEmailPastItsBudgetIsSentByAnActivityTask() throws Exception {
    LocalFirstEmailHangs activities = new LocalFirstEmailHangs();
    WorkflowExecutionHistory history = runWinbackOnce(activities, "u8", Duration.ofSeconds(60));
    assertThat(activities.hung).hasValue(1); // one local attempt, ended by the budget
    assertThat(activities.emails)
        .containsExactly(
            "task:journey:winback:u8:entry-1:first", "local:journey:winback:u8:entry-1:follow-up");
    // No workflow task failed or timed out on the way.
    assertThat(ReplayTest.count(history, HistoryEvent::hasWorkflowTaskFailedEventAttributes))
        .isZero();
    assertThat(ReplayTest.count(history, HistoryEvent::hasWorkflowTaskTimedOutEventAttributes))
        .isZero();
    ReplayTest.replay(history, WinbackJourneyImpl.class);
  }

  @Test
  void aWinbackRunWithActivityTaskEmailsReplaysOnTheCurrentCode() throws Exception {
    WinbackRuns runs;
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      runs = runWinback(env, WinbackJourneyV1.class);
    }
    assertThat(ReplayTest.count(runs.get(0), HistoryEvent::hasActivityTaskScheduledEventAttributes))
        .isEqualTo(3);
    for (WorkflowExecutionHistory run : runs.runs())
      ReplayTest.replay(run, WinbackJourneyImpl.class);
  }

  @Test
  void aWinbackRunOfTheFormerShapeReplaysOnTheCurrentCode() throws Exception {
    WinbackRuns runs;
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      runs = runWinback(env, WinbackJourneyV0.class);
    }
    for (WorkflowExecutionHistory run : runs.runs())
      ReplayTest.replay(run, WinbackJourneyImpl.class);
  }

  @Test
  void backfillReplays() throws Exception {
    WorkflowExecutionHistory history;
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      history = runBackfill(env);
    }
    ReplayTest.replay(history, BackfillWorkflowImpl.class);
  }

  // ---------------------------------------------------------------- golden histories

  @Test
  @DisabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void goldenHistoriesReplay() throws Exception {
    for (Map.Entry<String, Class<?>> golden : GOLDEN.entrySet()) {
      ReplayTest.requireGolden(golden.getKey());
      ReplayTest.withReplayWorker(
          golden.getValue(),
          worker -> WorkflowReplayer.replayWorkflowExecutionFromResource(golden.getKey(), worker));
    }
  }

  /** Each golden file and the implementation it must replay on (always the current one). */
  static final Map<String, Class<?>> GOLDEN = new LinkedHashMap<>();

  static {
    GOLDEN.put(DELIVERY, DeliveryWorkflowImpl.class);
    GOLDEN.put(WINBACK_V0, WinbackJourneyImpl.class);
    GOLDEN.put(WINBACK, WinbackJourneyImpl.class);
    GOLDEN.put(WINBACK_LOCAL_EMAIL, WinbackJourneyImpl.class);
    GOLDEN.put(BACKFILL, BackfillWorkflowImpl.class);
  }

  @Test
  @EnabledIfSystemProperty(named = WRITE_PROPERTY, matches = ".+")
  void writeGoldenHistories() throws Exception {
    String which = System.getProperty(WRITE_PROPERTY);
    boolean all = which.equals("true");
    java.util.function.Predicate<String> wanted =
        name -> all || List.of(which.split(",")).contains(name);
    Map<String, WorkflowExecutionHistory> out = new LinkedHashMap<>();
    if (wanted.test("delivery")) {
      try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
        out.put(DELIVERY, runDelivery(env));
      }
    }
    if (wanted.test("winback")) {
      try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
        out.put(
            WINBACK_V0,
            runWinback(env, WinbackJourneyV0.class).get(1)); // the exited run: a signal too
      }
      try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
        out.put(WINBACK, runWinback(env, WinbackJourneyV1.class).get(0));
      }
      try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
        out.put(WINBACK_LOCAL_EMAIL, runWinback(env, WinbackJourneyImpl.class).get(0));
      }
    }
    if (wanted.test("backfill")) {
      try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
        out.put(BACKFILL, runBackfill(env));
      }
    }
    if (out.isEmpty()) return; // the names ReplayTest writes
    Path dir =
        Path.of(System.getProperty("basedir", System.getProperty("user.dir")))
            .resolve("src/test/resources/histories");
    Files.createDirectories(dir);
    for (Map.Entry<String, WorkflowExecutionHistory> e : out.entrySet()) {
      Path file = dir.resolve(Path.of(e.getKey()).getFileName());
      Files.writeString(file, e.getValue().toJson(true) + "\n", StandardCharsets.UTF_8);
      WorkflowExecutionHistory back = WorkflowExecutionHistory.fromJson(Files.readString(file));
      ReplayTest.replay(back, GOLDEN.get(e.getKey()));
      System.out.println("wrote " + file + " (" + back.getEvents().size() + " events)");
    }
  }
}
