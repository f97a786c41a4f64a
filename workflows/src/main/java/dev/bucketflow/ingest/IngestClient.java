package dev.bucketflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bucketflow.shard.Shards;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Sends events to the ingest shards exactly as any SDK would: {@code signalWithStart} on {@code
 * bucketflow-ingest-<n>} with {@code {}} as the start argument. Bulk sends are grouped by shard
 * (keeping each user's order) into {@code events} signals bounded in count and bytes.
 */
public final class IngestClient {

  public static final int MAX_EVENTS_PER_SIGNAL = 100;
  public static final int MAX_BYTES_PER_SIGNAL = 256 * 1024;

  private final WorkflowClient client;
  private final String taskQueue;
  private final int shards;
  private final String idPrefix;

  public IngestClient(WorkflowClient client, String taskQueue, int shards) {
    this(client, taskQueue, shards, Shards.INGEST_ID_PREFIX);
  }

  /**
   * As {@link #IngestClient(WorkflowClient, String, int)}, addressing shard workflows {@code
   * <idPrefix><n>} instead of {@code bucketflow-ingest-<n>} (the benchmark's Temporal-only sink).
   */
  public IngestClient(WorkflowClient client, String taskQueue, int shards, String idPrefix) {
    this.client = client;
    this.taskQueue = taskQueue;
    this.shards = shards;
    this.idPrefix = idPrefix;
  }

  public int shardOf(JsonNode event) {
    JsonNode user = event == null ? null : event.get("userId");
    return user != null && user.isTextual() ? Shards.shardOf(user.asText(), shards) : 0;
  }

  public void send(JsonNode event) {
    signalWithStart(shardOf(event), "event", event);
  }

  /** Signals {@code deleteContact} to the user's shard. */
  public void deleteContact(String userId) {
    operation(PendingEvent.DELETE_CONTACT, userId, null);
  }

  /** Signals {@code addToBucket} (manual buckets) to the user's shard. */
  public void addToBucket(String bucketId, String userId) {
    operation(PendingEvent.ADD_TO_BUCKET, userId, bucketId);
  }

  /** Signals {@code removeFromBucket} (manual buckets) to the user's shard. */
  public void removeFromBucket(String bucketId, String userId) {
    operation(PendingEvent.REMOVE_FROM_BUCKET, userId, bucketId);
  }

  /**
   * Signals {@code addToBucket} ({@code removeFromBucket} when {@code remove}) once for all of
   * {@code userIds}, as an array of requests applied in order. They must share one shard (a shard
   * orders only its own users); at most {@link #MAX_EVENTS_PER_SIGNAL} per call keeps the signal
   * within {@link #MAX_BYTES_PER_SIGNAL} for user ids of up to 256 bytes.
   */
  public void changeBucket(boolean remove, String bucketId, List<String> userIds) {
    if (userIds.isEmpty()) return;
    if (userIds.size() > MAX_EVENTS_PER_SIGNAL) {
      throw new IllegalArgumentException(
          "at most " + MAX_EVENTS_PER_SIGNAL + " users per signal, got " + userIds.size());
    }
    int shard = Shards.shardOf(userIds.get(0), shards);
    List<Map<String, String>> requests = new ArrayList<>(userIds.size());
    for (String userId : userIds) {
      if (Shards.shardOf(userId, shards) != shard) {
        throw new IllegalArgumentException(
            "users of one signal must share a shard: " + userId + " is not on shard " + shard);
      }
      requests.add(Map.of("userId", userId, "bucketId", bucketId));
    }
    signalWithStart(
        shard, remove ? PendingEvent.REMOVE_FROM_BUCKET : PendingEvent.ADD_TO_BUCKET, requests);
  }

  private void operation(String signal, String userId, String bucketId) {
    Map<String, String> request =
        bucketId == null
            ? Map.of("userId", userId)
            : Map.of("userId", userId, "bucketId", bucketId);
    signalWithStart(Shards.shardOf(userId, shards), signal, request);
  }

  /** Sends all events, shards in parallel, each shard's signals in order. Returns signals sent. */
  public int sendAll(List<? extends JsonNode> events, int parallelism) throws Exception {
    List<List<JsonNode>> perShard = new ArrayList<>();
    for (int i = 0; i < shards; i++) perShard.add(new ArrayList<>());
    for (JsonNode e : events) perShard.get(shardOf(e)).add(e);
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(parallelism, shards)));
    try {
      List<Future<Integer>> futures = new ArrayList<>();
      for (int shard = 0; shard < shards; shard++) {
        int s = shard;
        futures.add(pool.submit(() -> sendShard(s, perShard.get(s))));
      }
      int signals = 0;
      for (Future<Integer> f : futures) signals += f.get();
      return signals;
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Sends {@code events}, all of shard {@code shard} (the caller grouped them by {@link #shardOf}),
   * in order, in {@code events} signals bounded as {@link #sendAll} bounds them; returns signals
   * sent.
   */
  public int sendShard(int shard, List<? extends JsonNode> events) {
    int signals = 0;
    List<JsonNode> chunk = new ArrayList<>();
    int bytes = 0;
    for (JsonNode e : events) {
      int size = e.toString().getBytes(StandardCharsets.UTF_8).length;
      if (!chunk.isEmpty()
          && (chunk.size() >= MAX_EVENTS_PER_SIGNAL || bytes + size > MAX_BYTES_PER_SIGNAL)) {
        signal(shard, List.copyOf(chunk));
        signals++;
        chunk.clear();
        bytes = 0;
      }
      chunk.add(e);
      bytes += size;
    }
    if (!chunk.isEmpty()) {
      signal(shard, chunk);
      signals++;
    }
    return signals;
  }

  private void signal(int shard, List<JsonNode> events) {
    signalWithStart(shard, "events", events);
  }

  /**
   * Signal-with-start, retried a few times when the server answers NOT_FOUND: the Java test server
   * (what {@code dev} runs) answers so for a shard caught between its run and the run it continues
   * as new, instead of starting or signalling the new run. Nothing was accepted then, so a retry
   * cannot duplicate the signal.
   */
  private void signalWithStart(int shard, String signal, Object argument) {
    for (int attempt = 1; ; attempt++) {
      try {
        stub(shard).signalWithStart(signal, new Object[] {argument}, new Object[] {Map.of()});
        return;
      } catch (io.temporal.client.WorkflowServiceException e) {
        boolean notFound =
            e.getCause() instanceof io.grpc.StatusRuntimeException s
                && s.getStatus().getCode() == io.grpc.Status.Code.NOT_FOUND;
        if (!notFound || attempt >= 5) throw e;
        try {
          Thread.sleep(20L * attempt);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /** A stub starts one execution at most, so every signalWithStart takes a fresh one. */
  private WorkflowStub stub(int shard) {
    return client.newUntypedWorkflowStub(
        EventIngestWorkflow.TYPE,
        WorkflowOptions.newBuilder()
            .setWorkflowId(idPrefix + shard)
            .setTaskQueue(taskQueue)
            .build());
  }
}
