package dev.bucketflow.dispatch;

import dev.bucketflow.delivery.DeliveryRequest;
import dev.bucketflow.delivery.DeliveryWorkflow;
import dev.bucketflow.shard.Shards;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link DeliveryWake} by signal-with-start of {@code bucketflow-delivery-<n>}: a shard whose
 * workflow is missing (a fresh {@code dev} server, a terminated run) is started by the same call.
 */
public final class TemporalDeliveryWake implements DeliveryWake {

  private static final Logger log = LoggerFactory.getLogger(TemporalDeliveryWake.class);

  private final WorkflowClient client;
  private final String taskQueue;
  private final int shards;
  private final Duration poll;

  public TemporalDeliveryWake(WorkflowClient client, String taskQueue, int shards, Duration poll) {
    this.client = client;
    this.taskQueue = taskQueue;
    this.shards = shards;
    this.poll = poll;
  }

  @Override
  public void shardsOf(Collection<String> userIds) {
    TreeSet<Integer> touched = new TreeSet<>();
    for (String user : userIds) touched.add(Shards.shardOf(user, shards));
    touched.forEach(this::wake);
  }

  @Override
  public void shard(int shard) {
    wake(Math.floorMod(shard, shards));
  }

  @Override
  public void all() {
    for (int shard = 0; shard < shards; shard++) wake(shard);
  }

  private void wake(int shard) {
    try {
      WorkflowOptions options =
          WorkflowOptions.newBuilder()
              .setWorkflowId(DeliveryWorkflow.workflowId(shard))
              .setTaskQueue(taskQueue)
              .setMemo(
                  Map.of(
                      "shard", shard, "description", "Bucketflow outbox delivery, shard " + shard))
              .build();
      client
          .newUntypedWorkflowStub(DeliveryWorkflow.TYPE, options)
          .signalWithStart(
              DeliveryWorkflow.WAKE,
              new Object[0],
              new Object[] {new DeliveryRequest(shard, shards, poll.toMillis())});
    } catch (RuntimeException e) {
      log.warn(
          "could not wake delivery shard {}; its poll will find the rows: {}", shard, e.toString());
    }
  }
}
