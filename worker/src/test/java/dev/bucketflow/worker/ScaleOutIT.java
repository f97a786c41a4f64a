package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.BucketRegistry;
import dev.bucketflow.bucket.Evaluator;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.IngestActivities;
import dev.bucketflow.shard.Shards;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Scale-out (issue 13 item 5): two workers and 16 shards on one task queue, one database. The
 * shards move between workers while events flow — worker A halts without a word in the middle (its
 * activities time out on heartbeats), worker C joins later — and every user's transitions are still
 * exactly those of applying the user's events one by one in order: no transition lost, doubled or
 * reordered, dependents (bucket conditions) included.
 */
class ScaleOutIT {

  static final int SHARDS = 16;
  static final int USERS = 160;
  static final int EVENTS_PER_USER = 9;

  /** Counts the batches a worker applied (FailoverIT's counter), to prove each took shards. */
  static UnaryOperator<IngestActivities> counting(AtomicInteger[] batches) {
    return impl -> {
      FailoverIT.CountingIngest counter = new FailoverIT.CountingIngest(impl);
      batches[0] = counter.batches;
      return counter;
    };
  }

  @Test
  void exactnessHoldsWhileShardsMoveBetweenWorkers() throws Exception {
    Path buckets = Path.of("src/test/resources/scale-buckets");
    List<BucketDefinition> definitions = BucketJson.load(buckets).buckets();
    Map<String, List<ObjectNode>> perUser = workload(new Random(13));
    List<List<ObjectNode>> waves = waves(perUser, 3);

    AtomicInteger[] aRef = new AtomicInteger[1];
    AtomicInteger[] bRef = new AtomicInteger[1];
    AtomicInteger[] cRef = new AtomicInteger[1];
    try (WorkerHarness harness =
        new WorkerHarness(
            buckets, Path.of("src/test/resources/no-journeys"), SHARDS, counting(aRef))) {
      BucketflowWorker workerB = harness.startAnotherWorker(counting(bRef));
      AtomicInteger a = aRef[0];
      AtomicInteger b = bRef[0];
      BucketflowWorker workerC = null;
      try {
        // The first wave in slices, each after the last was sent, until both workers have
        // applied a batch: sent whole, it can be absorbed by A alone while B's pollers are still
        // starting (seen once under a loaded full build), and nothing would then reach B.
        List<ObjectNode> first = waves.get(0);
        int slices = 8;
        for (int i = 0; i < slices; i++) {
          harness
              .ingestClient()
              .sendAll(
                  first.subList(i * first.size() / slices, (i + 1) * first.size() / slices), 4);
          long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
          while (!(a.get() > 0 && b.get() > 0) && System.nanoTime() < until) Thread.sleep(50);
        }
        WorkerHarness.await(
            () -> a.get() > 0 && b.get() > 0,
            Duration.ofSeconds(60),
            "both workers applying batches");
        harness.worker.haltForTest(); // A vanishes mid-stream: its shards move to B
        // Counted before the wave is sent: B may apply all of it while it is being sent.
        int bBefore = b.get();
        harness.ingestClient().sendAll(waves.get(1), 4);
        workerC = harness.startAnotherWorker(counting(cRef));
        AtomicInteger c = cRef[0];
        harness.ingestClient().sendAll(waves.get(2), 4);
        int total = USERS * EVENTS_PER_USER;
        WorkerHarness.await(
            () -> storedEvents(harness) == total, Duration.ofSeconds(120), "all events applied");
        assertThat(b.get()).as("B took over A's shards").isGreaterThan(bBefore);
        assertThat(c.get()).as("C, started late, took shards too").isPositive();
        // Transitions are written in the batches' transactions: all there once the events are.
        Map<String, List<String>> actual = actualTransitions(harness);
        Map<String, List<String>> expected = expectedTransitions(definitions, perUser);
        assertThat(actual.values().stream().mapToInt(List::size).sum())
            .as("a workload with real churn")
            .isGreaterThan(USERS);
        assertThat(actual).isEqualTo(expected);
      } finally {
        workerB.close();
        if (workerC != null) workerC.close();
      }
    }
  }

  static long storedEvents(WorkerHarness harness) {
    return harness.dsl().fetchCount(USER_EVENTS, USER_EVENTS.EVENT.notLike("bucket:%"));
  }

  /** Per user, events in order: purchases and plan changes (the plan flips, so buckets churn). */
  static Map<String, List<ObjectNode>> workload(Random rnd) {
    Map<String, List<ObjectNode>> out = new LinkedHashMap<>();
    for (int u = 0; u < USERS; u++) {
      String user = "scale-" + u;
      List<ObjectNode> events = new ArrayList<>();
      for (int i = 0; i < EVENTS_PER_USER; i++) {
        ObjectNode e = Json.MAPPER.createObjectNode().put("userId", user);
        if (rnd.nextInt(3) == 0) {
          e.put("event", "profile")
              .putObject("properties")
              .put("plan", rnd.nextBoolean() ? "pro" : "free");
        } else {
          e.put("event", "purchase").putObject("properties").put("n", i);
        }
        events.add(e);
      }
      out.put(user, events);
    }
    return out;
  }

  /** Splits the stream in {@code n} waves, each user's events in order across them. */
  static List<List<ObjectNode>> waves(Map<String, List<ObjectNode>> perUser, int n) {
    List<List<ObjectNode>> waves = new ArrayList<>();
    for (int w = 0; w < n; w++) waves.add(new ArrayList<>());
    for (int i = 0; i < EVENTS_PER_USER; i++) {
      for (List<ObjectNode> events : perUser.values())
        waves.get(i * n / EVENTS_PER_USER).add(events.get(i));
    }
    return waves;
  }

  /**
   * The model: each user's events applied one by one; after each, every bucket in dependency order
   * is evaluated against the memberships so far. Epochs count per user and bucket.
   */
  static Map<String, List<String>> expectedTransitions(
      List<BucketDefinition> definitions, Map<String, List<ObjectNode>> perUser) {
    BucketRegistry registry = new BucketRegistry(definitions);
    List<BucketDefinition> ordered =
        definitions.stream().sorted(registry.dependencyOrder()).toList();
    Map<String, List<String>> out = new TreeMap<>();
    Instant now = Instant.now();
    perUser.forEach(
        (user, events) -> {
          UserState state = UserState.empty();
          Map<String, Integer> epochs = new HashMap<>();
          List<String> transitions = new ArrayList<>();
          for (ObjectNode e : events) {
            state.mergeProperties((ObjectNode) e.get("properties"));
            state.recordEvent(e.get("event").asText(), now);
            for (BucketDefinition d : ordered) {
              boolean member = state.isMember(d.id());
              boolean matches = Evaluator.matches(d.criteria(), state, now);
              if (matches == member) continue;
              state.setMember(d.id(), matches);
              int epoch = matches ? epochs.merge(d.id(), 1, Integer::sum) : epochs.get(d.id());
              transitions.add(d.id() + ":" + (matches ? "entered" : "left") + ":" + epoch);
            }
          }
          if (!transitions.isEmpty()) out.put(user, transitions);
        });
    return out;
  }

  static Map<String, List<String>> actualTransitions(WorkerHarness harness) {
    var t = BUCKET_TRANSITIONS;
    Map<String, List<String>> out = new TreeMap<>();
    harness
        .dsl()
        .select(t.USER_ID, t.BUCKET_ID, t.KIND, t.EPOCH)
        .from(t)
        .orderBy(t.ID)
        .fetch()
        .forEach(
            r ->
                out.computeIfAbsent(r.value1(), k -> new ArrayList<>())
                    .add(r.value2() + ":" + r.value3() + ":" + r.value4()));
    return out;
  }

  static {
    // The workload spreads over every shard (guards the test against a degenerate user set).
    java.util.Set<Integer> shards = new java.util.HashSet<>();
    for (int u = 0; u < USERS; u++) shards.add(Shards.shardOf("scale-" + u, SHARDS));
    if (shards.size() != SHARDS)
      throw new IllegalStateException("users cover only " + shards.size() + " shards");
  }
}
