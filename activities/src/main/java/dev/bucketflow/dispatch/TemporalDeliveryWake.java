package dev.bucketflow.dispatch;

import dev.bucketflow.delivery.DeliveryRequest;
import dev.bucketflow.delivery.DeliveryWorkflow;
import dev.bucketflow.shard.Shards;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link DeliveryWake} by signal-with-start of {@code bucketflow-delivery-<n>}: a shard whose
 * workflow is missing (a fresh {@code dev} server, a terminated run) is started by the same call.
 *
 * <p>Asynchronous and coalesced: a wake is queued for one sender thread and the writer returns at
 * once, so an ingest activity completes right after its commit instead of after a round trip to the
 * server (which, under load, held up the shard's next batch). A wake of a shard already queued and
 * not yet sent is dropped: the queued one is sent after the caller's commit, so the pass it starts
 * sees those rows too. A shard leaves the queue just before its signal is sent, so a commit after
 * that point queues a new one. Best effort as before: a wake lost to a crash between commit and
 * send is covered by the delivery workflow's poll and the reconcile tick.
 */
public final class TemporalDeliveryWake implements DeliveryWake {

  private static final Logger log = LoggerFactory.getLogger(TemporalDeliveryWake.class);

  private final int shards;
  private final IntConsumer send;
  private final Executor sender;
  private final ExecutorService owned;
  private final Set<Integer> queued = ConcurrentHashMap.newKeySet();

  public TemporalDeliveryWake(WorkflowClient client, String taskQueue, int shards, Duration poll) {
    this(shards, shard -> signal(client, taskQueue, shards, poll, shard), null);
  }

  /**
   * @param send the signal of one shard (the server call)
   * @param sender runs the sends; null: one daemon thread of this wake's own
   */
  TemporalDeliveryWake(int shards, IntConsumer send, Executor sender) {
    this.shards = shards;
    this.send = send;
    this.owned =
        sender == null
            ? Executors.newSingleThreadExecutor(
                r -> {
                  Thread t = new Thread(r, "bucketflow-delivery-wake");
                  t.setDaemon(true);
                  return t;
                })
            : null;
    this.sender = sender == null ? owned : sender;
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
    if (!queued.add(shard)) return; // the queued wake is sent after this commit: it covers it
    try {
      sender.execute(
          () -> {
            queued.remove(shard);
            try {
              send.accept(shard);
            } catch (RuntimeException e) {
              log.warn(
                  "could not wake delivery shard {}; its poll will find the rows: {}",
                  shard,
                  e.toString());
            }
          });
    } catch (RejectedExecutionException closed) {
      queued.remove(shard); // shutting down: the next worker's poll finds the rows
    }
  }

  /** Stops the sender thread; wakes still queued are dropped (best effort, see above). */
  @Override
  public void close() {
    if (owned != null) owned.shutdownNow();
  }

  private static void signal(
      WorkflowClient client, String taskQueue, int shards, Duration poll, int shard) {
    WorkflowOptions options =
        WorkflowOptions.newBuilder()
            .setWorkflowId(DeliveryWorkflow.workflowId(shard))
            .setTaskQueue(taskQueue)
            .setMemo(
                Map.of("shard", shard, "description", "Bucketflow outbox delivery, shard " + shard))
            .build();
    client
        .newUntypedWorkflowStub(DeliveryWorkflow.TYPE, options)
        .signalWithStart(
            DeliveryWorkflow.WAKE,
            new Object[0],
            new Object[] {new DeliveryRequest(shard, shards, poll.toMillis())});
  }
}
