package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.JOURNEY_STATES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.IngestClient;
import dev.bucketflow.journeys.WinbackJourney;
import dev.bucketflow.testing.TestDatabase;
import io.temporal.api.filter.v1.WorkflowTypeFilter;
import io.temporal.api.workflow.v1.WorkflowExecutionInfo;
import io.temporal.api.workflowservice.v1.ListClosedWorkflowExecutionsRequest;
import io.temporal.api.workflowservice.v1.ListOpenWorkflowExecutionsRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.testserver.TestServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The worker killed with SIGKILL, many times, while 5,000 events of 500 users flow ({@code
 * -Dbucketflow.kill.users} for more) and a journey is bound to the bucket they join: afterwards
 * every trigger produced exactly one journey run, and every membership is exact. The worker is the
 * real {@code bucketflow.jar} in its own JVM, killed with {@link Process#destroyForcibly()}
 * (SIGKILL on Linux) at random moments — between commits and deliveries among them (the test checks
 * that at least one kill found committed rows undelivered).
 */
// Alone (after the concurrent ITs): it loads both cores by itself, and its kills should land on a
// worker that is busy with this test's events, not starved by another test's.
@Isolated
class DeliveryKillIT {

  static final int USERS = Integer.getInteger("bucketflow.kill.users", 500);
  static final int EVENTS_PER_USER = 10;
  static final String QUEUE = "bucketflow-kill";

  TestDatabase db;
  TestServer.PortBoundTestServer server;
  WorkflowServiceStubs service;
  String address;
  Process child;

  @BeforeEach
  void start() {
    db = TestDatabase.fresh();
    int port = WorkerHarness.freePort();
    server = TestServer.createPortBoundServer(port, true);
    TestServerFixes.apply(server); // as dev runs it
    address = "127.0.0.1:" + port;
    service = Temporal.connect(address);
  }

  @AfterEach
  void stop() throws Exception {
    if (child != null) child.destroyForcibly().waitFor();
    service.shutdownNow();
    server.close();
    db.close();
  }

  /** {@code bucketflow worker} as a user runs it, in a JVM of its own. */
  Process startWorker(Path log) throws Exception {
    ProcessBuilder pb =
        new ProcessBuilder(
            WorkerHarness.jarCommand(
                "worker",
                "--address",
                address,
                "--task-queue",
                QUEUE,
                "--shards",
                "8",
                "--db-url",
                db.url(),
                "--db-user",
                "postgres",
                "--buckets",
                resource("kill-buckets"),
                "--journeys",
                resource("kill-journeys"),
                "--admin-port",
                "0",
                "--sticky-timeout",
                "0",
                "--reconcile-cron",
                "0 0 1 1 *"));
    pb.environment().put("BUCKETFLOW_DELIVERY_POLL", "PT2S");
    pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    return pb.start();
  }

  static String resource(String name) {
    return Path.of("src/test/resources", name).toAbsolutePath().toString();
  }

  int undelivered() {
    return db.dsl().fetchCount(BUCKET_TRANSITIONS, BUCKET_TRANSITIONS.DISPATCHED_AT.isNull());
  }

  @Test
  void everyTriggerStartsExactlyOneJourneyRunThoughTheWorkerIsKilledAgainAndAgain()
      throws Exception {
    Path log = Path.of("target", "delivery-kill-worker.log");
    java.nio.file.Files.deleteIfExists(log);
    WorkflowClient client = Temporal.client(service, "default");
    IngestClient ingest = new IngestClient(client, QUEUE, 8);

    // The events: each user's first event joins the bucket (one trigger per user), nine more
    // follow.
    List<JsonNode> events = new ArrayList<>();
    for (int round = 0; round < EVENTS_PER_USER; round++) {
      for (int u = 0; u < USERS; u++) {
        ObjectNode e =
            Json.MAPPER
                .createObjectNode()
                .put("userId", "k-" + u)
                .put("event", "app.active")
                .put("idempotencyKey", "e-" + round);
        e.putObject("properties").put("plan", "trial").put("round", round);
        events.add(e);
      }
    }
    AtomicBoolean sending = new AtomicBoolean(true);
    Thread sender =
        new Thread(
            () -> {
              try {
                int slice = events.size() / 20;
                for (int i = 0; i < events.size(); i += slice) {
                  ingest.sendAll(events.subList(i, Math.min(events.size(), i + slice)), 8);
                  Thread.sleep(500); // spread the load over the kills
                }
              } catch (Exception e) {
                throw new IllegalStateException(e);
              } finally {
                sending.set(false);
              }
            },
            "sender");

    long t0 = System.nanoTime();
    child = startWorker(log);
    sender.start();
    Random random = new Random(7);
    int kills = 0;
    int killsWithRowsInFlight = 0;
    while (sending.get() || kills < 6) {
      // Let this worker get going (it applies and delivers), then kill it at a random moment.
      int before = db.dsl().fetchCount(BUCKET_TRANSITIONS);
      await()
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(100))
          .until(
              () ->
                  db.dsl().fetchCount(BUCKET_TRANSITIONS) > before
                      || db.dsl().fetchCount(BUCKET_TRANSITIONS) == USERS);
      Thread.sleep(random.nextInt(1_500));
      boolean inFlight = undelivered() > 0;
      child.destroyForcibly().waitFor(); // SIGKILL
      kills++;
      if (inFlight) killsWithRowsInFlight++;
      child = startWorker(log);
    }
    sender.join();
    double killed = (System.nanoTime() - t0) / 1e9;

    // The last worker lives: everything is applied and delivered.
    await()
        .atMost(Duration.ofMinutes(4))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                db.dsl().fetchCount(BUCKET_TRANSITIONS) == USERS
                    && undelivered() == 0
                    && db.dsl().fetchCount(JOURNEY_STATES, JOURNEY_STATES.RUN_ID.isNotNull())
                        == USERS);
    System.out.printf(
        "kills done after %.1f s, everything delivered after %.1f s%n",
        killed, (System.nanoTime() - t0) / 1e9);
    assertThat(kills).isGreaterThanOrEqualTo(6);
    assertThat(killsWithRowsInFlight)
        .as("kills that found committed rows not yet delivered")
        .isPositive();

    assertThat(
            db.dsl()
                .fetchCount(
                    BUCKET_MEMBERSHIPS, BUCKET_MEMBERSHIPS.STATUS.eq(MembershipStatus.ACTIVE)))
        .isEqualTo(USERS);
    assertThat(db.dsl().fetchCount(BUCKET_MEMBERSHIPS)).isEqualTo(USERS);
    assertThat(db.dsl().fetchCount(JOURNEY_STATES)).isEqualTo(USERS);

    // The server's own record: every user's journey id has exactly one run (open or closed); each
    // user has one entry, so a second run under an id would be a trigger started twice.
    Map<String, Integer> runsPerId = new HashMap<>();
    for (WorkflowExecutionInfo run : journeyRuns(client)) {
      // The Java test server ignores the type filter: keep the journey runs.
      if (!run.getType().getName().equals(WinbackJourney.TYPE)) continue;
      runsPerId.merge(run.getExecution().getWorkflowId(), 1, Integer::sum);
    }
    Set<String> expected = new HashSet<>();
    for (int u = 0; u < USERS; u++) expected.add("journey:trial-welcome:k-" + u);
    Set<String> missing = new HashSet<>(expected);
    missing.removeAll(runsPerId.keySet());
    Set<String> unexpected = new HashSet<>(runsPerId.keySet());
    unexpected.removeAll(expected);
    assertThat(missing).as("journey ids without a run (of %d listed)", runsPerId.size()).isEmpty();
    assertThat(unexpected).as("runs under ids no trigger names").isEmpty();
    assertThat(
            runsPerId.entrySet().stream()
                .filter(e -> e.getValue() != 1)
                .map(Map.Entry::getKey)
                .toList())
        .as("journey ids with more than one run")
        .isEmpty();
    System.out.println(
        "SIGKILLs: "
            + kills
            + ", of which with committed rows undelivered: "
            + killsWithRowsInFlight);
  }

  /** Every open and closed run of the journey's workflow type. */
  List<WorkflowExecutionInfo> journeyRuns(WorkflowClient client) {
    var stub = service.blockingStub();
    WorkflowTypeFilter type = WorkflowTypeFilter.newBuilder().setName(WinbackJourney.TYPE).build();
    List<WorkflowExecutionInfo> runs = new ArrayList<>();
    com.google.protobuf.ByteString token = com.google.protobuf.ByteString.EMPTY;
    do {
      var page =
          stub.listOpenWorkflowExecutions(
              ListOpenWorkflowExecutionsRequest.newBuilder()
                  .setNamespace("default")
                  .setTypeFilter(type)
                  .setMaximumPageSize(100_000)
                  .setNextPageToken(token)
                  .build());
      runs.addAll(page.getExecutionsList());
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    do {
      var page =
          stub.listClosedWorkflowExecutions(
              ListClosedWorkflowExecutionsRequest.newBuilder()
                  .setNamespace("default")
                  .setTypeFilter(type)
                  .setMaximumPageSize(100_000)
                  .setNextPageToken(token)
                  .build());
      runs.addAll(page.getExecutionsList());
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return runs;
  }
}
