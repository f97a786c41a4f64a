package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.IngestClient;
import dev.bucketflow.shard.Shards;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Fast failover with a real SIGKILL: worker A ({@code bucketflow.jar} in its own JVM, sticky
 * execution off as README tells for workers attached to the Java test server) shares the task queue
 * with worker B while every shard ingests a steady stream; A is killed with SIGKILL; every shard
 * then applies its next events on B within 15 seconds, and none is stranded.
 */
// Alone (after the concurrent ITs): the 15 s failover bound is measured on an otherwise quiet
// machine.
@Isolated
class KillFailoverIT {

  static final Duration FAILOVER = Duration.ofSeconds(15);

  WorkerHarness harness;
  Process a;

  @AfterEach
  void stop() throws Exception {
    if (a != null) a.destroyForcibly().waitFor();
    if (harness != null) harness.close();
  }

  static String userOfShard(int shard) {
    for (int i = 0; ; i++) {
      if (Shards.shardOf("fo-" + i, 8) == shard) return "fo-" + i;
    }
  }

  @Test
  void theShardsOfAKilledWorkerApplyTheirNextEventsOnTheOtherWorkerWithinSeconds()
      throws Exception {
    harness =
        new WorkerHarness(
            Path.of("src/test/resources/e2e-buckets"), Path.of("src/test/resources/no-journeys"));
    WorkerConfig c = harness.config;
    Path log = Path.of("target", "kill-failover-worker-a.log");
    Files.deleteIfExists(log);
    a =
        new ProcessBuilder(
                WorkerHarness.jarCommand(
                    "worker",
                    "--address",
                    c.temporalAddress(),
                    "--task-queue",
                    c.taskQueue(),
                    "--shards",
                    String.valueOf(c.shards()),
                    "--db-url",
                    c.jdbcUrl(),
                    "--db-user",
                    "postgres",
                    "--buckets",
                    c.buckets().toAbsolutePath().toString(),
                    "--journeys",
                    c.journeys().toAbsolutePath().toString(),
                    "--admin-port",
                    "0",
                    "--sticky-timeout",
                    "0",
                    "--reconcile-cron",
                    c.reconcileCron()))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    await()
        .atMost(Duration.ofSeconds(90))
        .until(() -> Files.readString(log).contains("worker polling task queue"));

    // A steady stream on every shard: one event per shard every 100 ms, numbered per shard.
    IngestClient ingest = harness.ingestClient();
    List<String> users = new ArrayList<>();
    for (int shard = 0; shard < 8; shard++) users.add(userOfShard(shard));
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger seq = new AtomicInteger();
    Thread sender =
        new Thread(
            () -> {
              while (running.get()) {
                int n = seq.incrementAndGet();
                for (String user : users) {
                  ObjectNode e =
                      Json.MAPPER
                          .createObjectNode()
                          .put("userId", user)
                          .put("event", "app.active")
                          .put("idempotencyKey", "s-" + n);
                  ingest.send(e);
                }
                try {
                  Thread.sleep(100);
                } catch (InterruptedException ie) {
                  return;
                }
              }
            },
            "steady-sender");
    sender.start();
    try {
      // Both workers take work for a while (A has shards cached and activities in flight).
      Thread.sleep(4_000);
      int killedAt = seq.get();
      long killed = System.nanoTime();
      a.destroyForcibly().waitFor(); // SIGKILL
      // For every shard: its first event sent after the kill is applied within FAILOVER.
      String key = "s-" + (killedAt + 1);
      await()
          .atMost(FAILOVER.plusSeconds(5))
          .pollInterval(Duration.ofMillis(100))
          .until(
              () ->
                  db(harness).fetchCount(USER_EVENTS, USER_EVENTS.IDEMPOTENCY_KEY.eq(key))
                      == users.size());
      Duration failover = Duration.ofNanos(System.nanoTime() - killed);
      System.out.println(
          "every shard applied its first post-kill event "
              + failover.toMillis()
              + " ms after the SIGKILL");
      assertThat(failover).isLessThan(FAILOVER);
    } finally {
      running.set(false);
      sender.join();
    }
    // None stranded: everything sent is applied.
    int sent = seq.get();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                db(harness).fetchCount(USER_EVENTS, USER_EVENTS.EVENT.eq("app.active"))
                    == sent * users.size());
  }

  static org.jooq.DSLContext db(WorkerHarness h) {
    return h.dsl();
  }
}
