package dev.bucketflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import dev.bucketflow.shard.Shards;
import io.temporal.api.common.v1.Payload;
import io.temporal.api.common.v1.Payloads;
import io.temporal.api.common.v1.WorkflowType;
import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.api.taskqueue.v1.TaskQueue;
import io.temporal.api.workflowservice.v1.SignalWithStartWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.testing.TestEnvironmentOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The byte budget and the door, through the real workflow on Temporal's test environment: sizes are
 * read back from the recorded history (what the SDK really sent), not estimated.
 */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(1)
class IngestByteBudgetTest {

  private static final String QUEUE = "budget-test";
  private static final int BUDGET = 256 * 1024;

  /** Applies slowly, so a flood outruns it; records what it saw. */
  static final class SlowIngest extends InMemorySpill {
    final List<PendingEvent> applied = Collections.synchronizedList(new ArrayList<>());
    final Map<String, Boolean> seen = Collections.synchronizedMap(new HashMap<>());
    volatile long millisPerBatch;

    @Override
    public IngestOutcome ingest(IngestBatch batch) {
      try {
        Thread.sleep(millisPerBatch);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      // Claim and apply atomically, as the real activity's transaction does: an attempt that
      // timed out but still runs can never apply after the retry that replaced it returned.
      synchronized (this) {
        if (seen.put(batch.batchId(), true) != null) return IngestOutcome.replayed();
        applied.addAll(batch.events());
        batch.releaseSpillOrEmpty().forEach(segments::remove);
      }
      return new IngestOutcome(false, batch.events().size(), 0, 0, 0, 0);
    }
  }

  private TestWorkflowEnvironment env;
  private SlowIngest activities;
  private WorkflowClient client;

  private void start(IngestSettings settings) {
    env =
        TestWorkflowEnvironment.newInstance(
            TestEnvironmentOptions.newBuilder()
                .setWorkflowClientOptions(
                    WorkflowClientOptions.newBuilder()
                        .setDataConverter(SignalPayloadConverter.dataConverter())
                        .build())
                .build());
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationFactory(
        EventIngestWorkflow.class, () -> new EventIngestWorkflowImpl(settings));
    activities = new SlowIngest();
    worker.registerActivitiesImplementations(activities);
    env.start();
    client = env.getWorkflowClient();
  }

  @AfterEach
  void stop() {
    if (env != null) env.close();
  }

  private WorkflowStub shard() {
    return client.newUntypedWorkflowStub(
        EventIngestWorkflow.TYPE,
        WorkflowOptions.newBuilder()
            .setWorkflowId(Shards.workflowId(0))
            .setTaskQueue(QUEUE)
            .build());
  }

  private static ObjectNode bigEvent(String user, int seq, int padBytes) {
    ObjectNode e = JsonNodeFactory.instance.objectNode();
    e.put("userId", user).put("event", "upload");
    e.putObject("properties").put("seq", seq).put("pad", "p".repeat(padBytes));
    return e;
  }

  @Test
  void aFloodOfLargeEventsStaysUnderTheBudgetAndLandsOnceInOrder() throws Exception {
    start(new IngestSettings(500, 60, BUDGET));
    activities.millisPerBatch = 40;
    // CI size; -Dbucketflow.flood.events=50000 runs the full flood of the acceptance (minutes).
    int total = Integer.getInteger("bucketflow.flood.events", 1_000);
    Map<String, Integer> sent = new HashMap<>();
    List<JsonNode> chunk = new ArrayList<>();
    for (int i = 0; i < total; i++) {
      String user = "u" + (i % 5);
      chunk.add(bigEvent(user, sent.merge(user, 1, Integer::sum), 20 * 1024));
      if (chunk.size() == 10
          || i == total - 1) { // ~200 KiB signals, well under the 2 MB a signal may carry
        shard()
            .signalWithStart("events", new Object[] {List.copyOf(chunk)}, new Object[] {Map.of()});
        chunk.clear();
      }
    }
    EventIngestWorkflow typed =
        client.newWorkflowStub(EventIngestWorkflow.class, Shards.workflowId(0));
    long deadline = System.nanoTime() + Duration.ofSeconds(Math.max(120, total / 20)).toNanos();
    while (activities.applied.size() < total && System.nanoTime() < deadline)
      env.sleep(Duration.ofMillis(200));

    assertThat(activities.applied).hasSize(total);
    Map<String, List<Integer>> order = new LinkedHashMap<>();
    for (PendingEvent e : activities.applied) {
      order
          .computeIfAbsent(e.payload().get("userId").asText(), k -> new ArrayList<>())
          .add(e.payload().get("properties").get("seq").asInt());
    }
    order.forEach(
        (user, seqs) -> {
          List<Integer> expected = new ArrayList<>();
          for (int i = 1; i <= sent.get(user); i++) expected.add(i);
          assertThat(seqs).as("order of %s", user).isEqualTo(expected);
        });
    // The workflow clears pending when the last activity's completion is recorded, just after it
    // ran.
    long idleBy = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (typed.stats().pending() != 0 && System.nanoTime() < idleBy)
      env.sleep(Duration.ofMillis(200));
    assertThat(typed.stats().pending()).isZero();

    List<Long> activityInputs = new ArrayList<>();
    List<Long> carryInputs = new ArrayList<>();
    int runs = 0;
    for (List<HistoryEvent> history : runsNewestFirst(Shards.workflowId(0))) {
      runs++;
      for (HistoryEvent h : history) {
        if (h.getEventType() == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
          activityInputs.add(
              (long) h.getActivityTaskScheduledEventAttributes().getInput().getSerializedSize());
        } else if (h.getEventType() == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) {
          carryInputs.add(
              (long)
                  h.getWorkflowExecutionContinuedAsNewEventAttributes()
                      .getInput()
                      .getSerializedSize());
        }
      }
    }
    assertThat(runs).as("runs").isGreaterThanOrEqualTo(3);
    assertThat(activityInputs).isNotEmpty().allSatisfy(size -> assertThat(size).isLessThan(BUDGET));
    assertThat(carryInputs).isNotEmpty().allSatisfy(size -> assertThat(size).isLessThan(BUDGET));
    // The flood really outran the shard: without spilling, some carry-over would have been larger.
    assertThat(activities.segments).as("spill segments left after release").isEmpty();
    assertThat(spillsScheduled(Shards.workflowId(0))).as("spill activities").isPositive();
  }

  @Test
  void aPayloadTheJsonReaderRefusesBecomesARejectionInsteadOfVanishing() throws Exception {
    start(new IngestSettings(50, 60));
    String deep =
        "{\"userId\":\"deep\",\"event\":\"x\",\"properties\":"
            + "[".repeat(1_500)
            + "]".repeat(1_500)
            + "}";
    String longNumber =
        "{\"userId\":\"num\",\"event\":\"x\",\"properties\":{\"n\":" + "9".repeat(3_000) + "}}";
    String infinite = "{\"userId\":\"inf\",\"event\":\"x\",\"properties\":{\"n\":1e400}}";
    String moderatelyDeep =
        "{\"userId\":\"d40\",\"event\":\"x\",\"properties\":"
            + "{\"a\":".repeat(40)
            + "1"
            + "}".repeat(40)
            + "}";
    String oversized =
        "{\"userId\":\"big\",\"event\":\"x\",\"properties\":{\"pad\":\""
            + "z".repeat(40 * 1024)
            + "\"}}";
    for (String raw : List.of(deep, longNumber, infinite, moderatelyDeep, oversized))
      rawSignal("event", raw);
    rawSignal("events", "[" + deep + "," + "{\"userId\":\"ok2\",\"event\":\"x\"}" + "]");
    rawSignal("event", "{\"userId\":\"ok\",\"event\":\"x\"}");

    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (activities.applied.size() < 7 && System.nanoTime() < deadline)
      env.sleep(Duration.ofMillis(100));

    assertThat(activities.applied).hasSize(7);
    List<String> reasons =
        activities.applied.stream()
            .map(
                e ->
                    e.isRejected()
                        ? e.payload().get("reason").asText()
                        : "ok:" + e.payload().get("userId").asText())
            .toList();
    // An 'events' list that cannot be read is one rejection: the whole signal, never silently
    // dropped.
    assertThat(reasons)
        .containsExactly(
            "too_deep",
            "invalid_field",
            "invalid_field",
            "too_deep",
            "payload_too_large",
            "too_deep",
            "ok:ok");
    PendingEvent deepOne = activities.applied.get(0);
    assertThat(deepOne.payload().get("raw").asText()).startsWith("{\"userId\":\"deep\"");
    assertThat(activities.applied.get(3).payload().get("userId").asText()).isEqualTo("d40");
  }

  /** Sends raw JSON bytes, as a client in another SDK would, bypassing this JVM's serializer. */
  private void rawSignal(String signal, String json) {
    Payload payload =
        Payload.newBuilder()
            .putMetadata("encoding", ByteString.copyFromUtf8("json/plain"))
            .setData(ByteString.copyFrom(json, StandardCharsets.UTF_8))
            .build();
    Payload start =
        Payload.newBuilder()
            .putMetadata("encoding", ByteString.copyFromUtf8("json/plain"))
            .setData(ByteString.copyFromUtf8("{}"))
            .build();
    env.getWorkflowServiceStubs()
        .blockingStub()
        .signalWithStartWorkflowExecution(
            SignalWithStartWorkflowExecutionRequest.newBuilder()
                .setNamespace(env.getNamespace())
                .setWorkflowId(Shards.workflowId(0))
                .setWorkflowType(WorkflowType.newBuilder().setName(EventIngestWorkflow.TYPE))
                .setTaskQueue(TaskQueue.newBuilder().setName(QUEUE))
                .setInput(Payloads.newBuilder().addPayloads(start))
                .setSignalName(signal)
                .setSignalInput(Payloads.newBuilder().addPayloads(payload))
                .setRequestId(UUID.randomUUID().toString())
                .build());
  }

  private long spillsScheduled(String workflowId) {
    return runsNewestFirst(workflowId).stream()
        .flatMap(List::stream)
        .filter(h -> h.getEventType() == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        .filter(
            h ->
                h.getActivityTaskScheduledEventAttributes()
                    .getActivityType()
                    .getName()
                    .equals("SpillEvents"))
        .count();
  }

  /** Every run of the chain, following continuedExecutionRunId back from the current run. */
  private List<List<HistoryEvent>> runsNewestFirst(String workflowId) {
    List<List<HistoryEvent>> runs = new ArrayList<>();
    String runId = "";
    while (true) {
      List<HistoryEvent> events = client.fetchHistory(workflowId, runId).getEvents();
      runs.add(events);
      String previous =
          events.get(0).getWorkflowExecutionStartedEventAttributes().getContinuedExecutionRunId();
      if (previous.isEmpty()) return runs;
      runId = previous;
    }
  }
}
