package dev.bucketflow.worker;

import dev.bucketflow.ingest.EventIngestWorkflow;
import dev.bucketflow.ingest.IngestClient;
import dev.bucketflow.ingest.IngestStats;
import dev.bucketflow.shard.Shards;
import io.temporal.client.WorkflowClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Sends manual bucket changes from a bounded set of threads, each owning a fixed set of shards, so
 * a user's changes leave in file order while shards proceed in parallel. Each signal carries up to
 * a hundred users of one shard (the array form of {@code addToBucket}/{@code removeFromBucket}):
 * one signal per user ran at about 200 users/s against {@code dev}. Each thread takes from its own
 * bounded queue: a reader that outpaces the network blocks instead of growing the heap.
 */
final class ShardSenders implements AutoCloseable {

  /** Ids waiting per thread; with the default 8 threads, at most 8 × this many ids in memory. */
  static final int QUEUE_CAPACITY = 1024;

  /** End of input for a thread (compared by identity, so no user id can be mistaken for it). */
  private static final String END = new String("end");

  private final IngestClient client;
  private final int shards;
  private final String bucketId;
  private final boolean remove;
  private final List<BlockingQueue<String>> queues = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private final AtomicLongArray perShard;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong signals = new AtomicLong();
  private final AtomicReference<RuntimeException> failure = new AtomicReference<>();

  ShardSenders(IngestClient client, int shards, int parallelism, String bucketId, boolean remove) {
    this.client = client;
    this.shards = shards;
    this.bucketId = bucketId;
    this.remove = remove;
    this.perShard = new AtomicLongArray(shards);
    int n = Math.max(1, Math.min(parallelism, shards));
    for (int i = 0; i < n; i++) {
      BlockingQueue<String> q = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
      queues.add(q);
      Thread t = new Thread(() -> drain(q), "import-sender-" + i);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  /**
   * Queues {@code userId} for its shard (blocking while that queue is full); false once a send
   * failed.
   */
  boolean submit(String userId) throws InterruptedException {
    BlockingQueue<String> q = queues.get(Shards.shardOf(userId, shards) % queues.size());
    while (failure.get() == null) {
      if (q.offer(userId, 100, TimeUnit.MILLISECONDS)) return true;
    }
    return false;
  }

  /** Waits until every queued id was sent (or a send failed). */
  void finish() throws InterruptedException {
    for (BlockingQueue<String> q : queues) q.put(END);
    for (Thread t : threads) t.join();
  }

  /** Users sent so far. */
  long sent() {
    return sent.get();
  }

  /** Signals sent so far (each carries up to {@link IngestClient#MAX_EVENTS_PER_SIGNAL} users). */
  long signals() {
    return signals.get();
  }

  RuntimeException failure() {
    return failure.get();
  }

  /**
   * Takes ids off {@code q}, gathering them per shard into signals of up to {@link
   * IngestClient#MAX_EVENTS_PER_SIGNAL} users; a partial signal goes out when the queue runs dry,
   * so a slow reader never holds ids back.
   */
  private void drain(BlockingQueue<String> q) {
    Map<Integer, List<String>> batches = new HashMap<>();
    try {
      while (true) {
        String userId = q.poll(50, TimeUnit.MILLISECONDS);
        if (userId == null || userId == END) {
          batches.forEach(this::flush);
          if (userId == END) return;
          continue;
        }
        if (failure.get() != null)
          continue; // keep draining so the reader never blocks on a dead thread
        int shard = Shards.shardOf(userId, shards);
        List<String> batch = batches.computeIfAbsent(shard, s -> new ArrayList<>());
        batch.add(userId);
        if (batch.size() >= IngestClient.MAX_EVENTS_PER_SIGNAL) flush(shard, batch);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void flush(int shard, List<String> batch) {
    if (batch.isEmpty()) return;
    try {
      if (failure.get() == null) {
        client.changeBucket(remove, bucketId, batch);
        perShard.addAndGet(shard, batch.size());
        sent.addAndGet(batch.size());
        signals.incrementAndGet();
      }
    } catch (RuntimeException e) {
      failure.compareAndSet(null, e);
    } finally {
      batch.clear();
    }
  }

  /**
   * Waits until every shard that was sent something has applied all it had received when we
   * finished sending. Queries are consistent (answered after the signals already in history are
   * processed), and a shard applies its queue in order, so once {@code applied} reaches the {@code
   * applied + pending} it reported right after our last signal, our signals are applied, whatever
   * other traffic the shard carries. False when {@code timeout} passes first.
   */
  boolean awaitApplied(WorkflowClient temporal, Duration timeout, ProgressBar bar)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long[] base = new long[shards];
    long[] target = new long[shards];
    long[] applied = new long[shards];
    List<Integer> open = new ArrayList<>();
    for (int s = 0; s < shards; s++) {
      if (perShard.get(s) > 0) open.add(s);
      target[s] = -1;
    }
    int used = open.size();
    while (!open.isEmpty()) {
      for (var it = open.iterator(); it.hasNext(); ) {
        int s = it.next();
        IngestStats stats;
        try {
          stats = temporal.newWorkflowStub(EventIngestWorkflow.class, Shards.workflowId(s)).stats();
        } catch (RuntimeException e) {
          continue; // caught between runs (continue-as-new), or no worker answered yet: ask again
        }
        if (target[s] < 0) {
          base[s] = stats.applied();
          target[s] = stats.applied() + stats.pending();
        }
        applied[s] = Math.min(stats.applied(), target[s]);
        if (stats.applied() >= target[s]) it.remove();
      }
      long done = 0;
      long total = 0;
      for (int s = 0; s < shards; s++) {
        if (target[s] < 0) continue;
        done += applied[s] - base[s];
        total += target[s] - base[s];
      }
      bar.show(
          done,
          total,
          "queued operations applied",
          (used - open.size()) + "/" + used + " shards done");
      if (open.isEmpty()) break;
      if (System.nanoTime() > deadline) {
        bar.end();
        return false;
      }
      Thread.sleep(200);
    }
    bar.end();
    return true;
  }

  @Override
  public void close() {
    for (Thread t : threads) t.interrupt();
  }
}
