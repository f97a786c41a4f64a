package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.EMAIL_OUTBOX;
import static dev.bucketflow.schema.Tables.JOURNEY_STATES;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.db.Json;
import dev.bucketflow.journeys.WinbackJourney;
import dev.bucketflow.reconcile.ReconcileReport;
import dev.bucketflow.reconcile.ReconcileRequest;
import dev.bucketflow.reconcile.ReconcileWorkflow;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The winback story end to end on the real-time test server: a reconcile sweep (window of seconds)
 * puts a user into went-dormant, the journey starts and sends the first email; the user comes back,
 * leaves the bucket in real time, and the journey exits before its follow-up.
 */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(4)
class WinbackJourneyIT {

  static WorkerHarness harness;

  @BeforeAll
  static void start() {
    harness =
        new WorkerHarness(
            Path.of("src/test/resources/journey-buckets"),
            Path.of("src/test/resources/journey-journeys"));
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    WorkerHarness.await(condition, Duration.ofSeconds(30), what);
  }

  static void send(String user, String event) {
    ObjectNode e = Json.MAPPER.createObjectNode();
    e.put("userId", user).put("event", event).put("userEmail", user + "@example.com");
    harness.ingestClient().send(e);
  }

  ReconcileReport reconcileNow() {
    ReconcileWorkflow run =
        harness
            .worker
            .client()
            .newWorkflowStub(
                ReconcileWorkflow.class,
                WorkflowOptions.newBuilder()
                    .setWorkflowId("reconcile-now-" + System.nanoTime())
                    .setTaskQueue(harness.config.taskQueue())
                    .build());
    return run.run(ReconcileRequest.all());
  }

  List<String> emails(String user) {
    return harness
        .dsl()
        .select(EMAIL_OUTBOX.TEMPLATE)
        .from(EMAIL_OUTBOX)
        .where(EMAIL_OUTBOX.USER_ID.eq(user))
        .orderBy(EMAIL_OUTBOX.ID)
        .fetch(EMAIL_OUTBOX.TEMPLATE);
  }

  @Test
  void dormantUserGetsTheWinbackAndItExitsWhenTheyComeBack() throws Exception {
    send("wb-1", "app.active");
    await(
        () -> harness.dsl().fetchCount(dev.bucketflow.schema.Tables.USER_EVENTS) >= 1,
        "event stored");
    Thread.sleep(2_100); // let the 2-second activity window pass: the user is now dormant

    ReconcileReport report = reconcileNow();
    assertThat(report.buckets())
        .anySatisfy(
            s -> {
              assertThat(s.bucketId()).isEqualTo("went-dormant-fast");
              assertThat(s.absenceJoins()).isEqualTo(1);
            });
    await(() -> emails("wb-1").equals(List.of("winback")), "first winback email");
    assertThat(
            harness
                .dsl()
                .select(EMAIL_OUTBOX.TO_EMAIL)
                .from(EMAIL_OUTBOX)
                .where(EMAIL_OUTBOX.USER_ID.eq("wb-1"))
                .fetchOne(EMAIL_OUTBOX.TO_EMAIL))
        .isEqualTo("wb-1@example.com");

    send("wb-1", "app.active"); // back: leaves the bucket in real time
    await(
        () ->
            harness
                    .dsl()
                    .fetchCount(BUCKET_TRANSITIONS, BUCKET_TRANSITIONS.KIND.eq(TransitionKind.LEFT))
                == 1,
        "leave");
    WorkflowStub journey =
        harness.worker.client().newUntypedWorkflowStub("journey:winback-fast:wb-1");
    journey.getResult(
        Duration.ofSeconds(15).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS, Void.class);

    WinbackJourney typed =
        harness.worker.client().newWorkflowStub(WinbackJourney.class, "journey:winback-fast:wb-1");
    assertThat(typed.status()).isEqualTo("exited");
    assertThat(emails("wb-1")).containsExactly("winback"); // no follow-up, ever: the run is closed
    var state =
        harness
            .dsl()
            .select(JOURNEY_STATES.STATUS, JOURNEY_STATES.EXIT_REASON)
            .from(JOURNEY_STATES)
            .where(JOURNEY_STATES.USER_ID.eq("wb-1"))
            .fetchOne();
    assertThat(state.value1() + " " + state.value2())
        .isEqualTo("exited bucket:left:went-dormant-fast");
  }
}
