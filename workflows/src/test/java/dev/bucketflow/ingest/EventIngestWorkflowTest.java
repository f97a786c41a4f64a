package dev.bucketflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.shard.Shards;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class EventIngestWorkflowTest {

  private static final String QUEUE = "ingest-test";

  /** Records what reached the activity, applying each batch id once like the real one. */
  static final class RecordingIngest extends InMemorySpill {
    final Map<String, Integer> batchIds = new ConcurrentHashMap<>();
    final List<JsonNode> applied = Collections.synchronizedList(new ArrayList<>());

    /** {@code <op or "event">:<userId>} of each applied item, in order. */
    final List<String> ops = Collections.synchronizedList(new ArrayList<>());

    final AtomicInteger failNext = new AtomicInteger();

    @Override
    public IngestOutcome ingest(IngestBatch batch) {
      if (failNext.getAndDecrement() > 0) throw new IllegalStateException("simulated crash");
      if (batchIds.merge(batch.batchId(), 1, Integer::sum) > 1) return IngestOutcome.replayed();
      batch
          .events()
          .forEach(
              e -> {
                applied.add(e.payload());
                ops.add(
                    (e.op() == null ? "event" : e.op())
                        + ":"
                        + e.payload().path("userId").asText());
              });
      return new IngestOutcome(false, batch.events().size(), 0, 0, 0, 0);
    }
  }

  private TestWorkflowEnvironment env;
  private RecordingIngest activities;
  private WorkflowClient client;

  @BeforeEach
  void start() {
    env = TestWorkflowEnvironment.newInstance();
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationFactory(
        EventIngestWorkflow.class, () -> new EventIngestWorkflowImpl(new IngestSettings(50, 60)));
    activities = new RecordingIngest();
    worker.registerActivitiesImplementations(activities);
    env.start();
    client = env.getWorkflowClient();
  }

  @AfterEach
  void stop() {
    env.close();
  }

  private EventIngestWorkflow shard(int n) {
    return client.newWorkflowStub(
        EventIngestWorkflow.class,
        WorkflowOptions.newBuilder()
            .setWorkflowId(Shards.workflowId(n))
            .setTaskQueue(QUEUE)
            .build());
  }

  private static ObjectNode event(String user, int seq) {
    ObjectNode e = JsonNodeFactory.instance.objectNode();
    e.put("userId", user).put("event", "tick").putObject("properties").put("seq", seq);
    return e;
  }

  @Test
  void fiveThousandEventsAcrossManyContinueAsNewAreAppliedOnceInOrder() {
    int total = 5_000;
    Map<String, Integer> sentPerUser = new HashMap<>();
    List<JsonNode> chunk = new ArrayList<>();
    activities.failNext.set(2); // two failed attempts on the way: retried, not lost
    for (int i = 0; i < total; i++) {
      String user = "u" + (i % 7);
      int seq = sentPerUser.merge(user, 1, Integer::sum);
      chunk.add(event(user, seq));
      if (chunk.size() == 25 || i == total - 1) {
        List<JsonNode> payload = List.copyOf(chunk);
        chunk.clear();
        if (payload.size() == 1) {
          WorkflowClient.start(shard(3)::event, payload.get(0));
        } else {
          // signalWithStart with {} as the start argument, as external clients do.
          WorkflowStub stub =
              client.newUntypedWorkflowStub(
                  EventIngestWorkflow.TYPE,
                  WorkflowOptions.newBuilder()
                      .setWorkflowId(Shards.workflowId(3))
                      .setTaskQueue(QUEUE)
                      .build());
          stub.signalWithStart("events", new Object[] {payload}, new Object[] {Map.of()});
        }
      }
    }
    EventIngestWorkflow stub =
        client.newWorkflowStub(EventIngestWorkflow.class, Shards.workflowId(3));
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (stub.stats().applied() < total && System.nanoTime() < deadline) {
      env.sleep(Duration.ofMillis(200));
    }

    assertThat(activities.applied).hasSize(total);
    Map<String, List<Integer>> seqs = new LinkedHashMap<>();
    for (JsonNode e : activities.applied) {
      seqs.computeIfAbsent(e.get("userId").asText(), k -> new ArrayList<>())
          .add(e.get("properties").get("seq").asInt());
    }
    seqs.forEach(
        (user, list) -> {
          List<Integer> expected = new ArrayList<>();
          for (int i = 1; i <= sentPerUser.get(user); i++) expected.add(i);
          assertThat(list).as("events of %s", user).isEqualTo(expected);
        });
    IngestStats stats = stub.stats();
    assertThat(stats.applied()).isEqualTo(total);
    assertThat(stats.pending()).isZero();
    assertThat(stats.shard()).isEqualTo(3);
    // It really did continue as new, many times: batch ids name their run.
    long runs =
        activities.batchIds.keySet().stream().map(id -> id.split("/")[1]).distinct().count();
    assertThat(runs).isGreaterThanOrEqualTo(3);
  }

  @Test
  void manualBucketSignalsTakeOneRequestOrAnArrayAppliedInOrder() {
    signal(5, "addToBucket", request("a"));
    signal(5, "event", event("b", 1));
    signal(5, "addToBucket", List.of(request("b"), request("c")));
    signal(5, "removeFromBucket", List.of(request("a")));
    signal(5, "removeFromBucket", request("c"));
    EventIngestWorkflow stub =
        client.newWorkflowStub(EventIngestWorkflow.class, Shards.workflowId(5));
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (stub.stats().applied() < 6 && System.nanoTime() < deadline) {
      env.sleep(Duration.ofMillis(100));
    }

    assertThat(activities.ops)
        .containsExactly(
            "addToBucket:a",
            "event:b",
            "addToBucket:b",
            "addToBucket:c",
            "removeFromBucket:a",
            "removeFromBucket:c");
  }

  private void signal(int shard, String name, Object argument) {
    client
        .newUntypedWorkflowStub(
            EventIngestWorkflow.TYPE,
            WorkflowOptions.newBuilder()
                .setWorkflowId(Shards.workflowId(shard))
                .setTaskQueue(QUEUE)
                .build())
        .signalWithStart(name, new Object[] {argument}, new Object[] {Map.of()});
  }

  private static ObjectNode request(String user) {
    return JsonNodeFactory.instance.objectNode().put("bucketId", "vip").put("userId", user);
  }

  @Test
  void shardFunctionIsUnsignedCrc32Mod() {
    // crc32("u1") = 0x9F7D2E1B... whatever it is, it must be stable and in range.
    assertThat(Shards.shardOf("u1", 8)).isBetween(0, 7);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update("alice".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(Shards.shardOf("alice", 8)).isEqualTo((int) (crc.getValue() % 8));
    assertThat(Shards.shardFromWorkflowId("bucketflow-ingest-5")).isEqualTo(5);
  }
}
