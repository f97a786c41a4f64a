package dev.bucketflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.shard.Shards;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.testing.TestEnvironmentOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactoryOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * IngestSettings says a change "only takes effect on new runs". An ingest shard never ends, so a
 * redeploy with other settings replays the shard's open run on a worker with the new settings. If
 * the run took its settings from the worker, its state (what is pending, what was applied) would be
 * rebuilt from the activity results in its history sliced by the NEW maxBatchSize: replay would
 * believe events already applied by the old, larger batches are still pending and apply them again
 * under new batch ids, which the activity's batch-id idempotency cannot recognise. (Observed before
 * the run recorded its settings: seq 21..100 applied twice.)
 *
 * <p>The redeploy is simulated in one worker: the settings it instantiates the workflow with are
 * switched, and its workflow cache (one slot) is taken by another shard, so shard 2's next workflow
 * task rebuilds the run from its full history, exactly as a freshly started worker does.
 */
class IngestSettingsChangeTest {

  private static final String QUEUE = "ingest-settings-test";

  static final class Applied extends InMemorySpill {
    final List<Integer> seqs = Collections.synchronizedList(new ArrayList<>());

    @Override
    public IngestOutcome ingest(IngestBatch batch) {
      batch.events().forEach(e -> seqs.add(e.payload().get("properties").get("seq").asInt()));
      return new IngestOutcome(false, batch.events().size(), 0, 0, 0, 0);
    }
  }

  private final AtomicReference<IngestSettings> deployed =
      new AtomicReference<>(new IngestSettings(50, 1_000));
  private TestWorkflowEnvironment env;
  private Applied activities;
  private WorkflowClient client;

  @BeforeEach
  void start() {
    env =
        TestWorkflowEnvironment.newInstance(
            TestEnvironmentOptions.newBuilder()
                .setWorkerFactoryOptions(
                    WorkerFactoryOptions.newBuilder().setWorkflowCacheSize(1).build())
                .build());
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationFactory(
        EventIngestWorkflow.class, () -> new EventIngestWorkflowImpl(deployed.get()));
    activities = new Applied();
    worker.registerActivitiesImplementations(activities);
    env.start();
    client = env.getWorkflowClient();
  }

  @AfterEach
  void stop() {
    env.close();
  }

  private void signal(int shard, List<JsonNode> events) {
    WorkflowStub stub =
        client.newUntypedWorkflowStub(
            EventIngestWorkflow.TYPE,
            WorkflowOptions.newBuilder()
                .setWorkflowId(Shards.workflowId(shard))
                .setTaskQueue(QUEUE)
                .build());
    stub.signalWithStart("events", new Object[] {events}, new Object[] {Map.of()});
  }

  private static List<JsonNode> events(int from, int to) {
    List<JsonNode> out = new ArrayList<>();
    for (int seq = from; seq <= to; seq++) {
      ObjectNode e = JsonNodeFactory.instance.objectNode();
      e.put("userId", "u" + (seq % 3)).put("event", "tick").putObject("properties").put("seq", seq);
      out.add(e);
    }
    return out;
  }

  private static void awaitReal(BooleanSupplier condition) throws InterruptedException {
    dev.bucketflow.testing.RealTime.await(condition, Duration.ofSeconds(30));
  }

  @Test
  void aRedeployWithASmallerBatchSizeAppliesNoEventTwice() throws Exception {
    signal(2, events(1, 100));
    awaitReal(() -> activities.seqs.size() >= 100);
    assertThat(activities.seqs).hasSize(100); // two batches of 50

    deployed.set(new IngestSettings(10, 1_000)); // the redeploy
    // Another shard takes the only cache slot: shard 2's run is evicted, as by a restart.
    signal(5, events(1_000, 1_000));
    awaitReal(() -> activities.seqs.contains(1_000));
    activities.seqs.remove(Integer.valueOf(1_000));

    signal(2, events(101, 101));
    awaitReal(() -> activities.seqs.contains(101));
    Thread.sleep(300); // let any further batches of the open run go out (there must be none)

    Map<Integer, Integer> times = new TreeMap<>();
    for (int seq : List.copyOf(activities.seqs)) times.merge(seq, 1, Integer::sum);
    Map<Integer, Integer> twice = new TreeMap<>(times);
    twice.values().removeIf(n -> n == 1);
    assertThat(twice).as("events applied more than once (seq -> times)").isEmpty();
    assertThat(times).hasSize(101);
  }
}
