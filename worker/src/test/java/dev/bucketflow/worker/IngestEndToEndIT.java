package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.EventIngestWorkflow;
import dev.bucketflow.ingest.IngestStats;
import dev.bucketflow.shard.Shards;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Port-bound Temporal test server + the real worker + a client sending signals → rows. */
class IngestEndToEndIT {

  static WorkerHarness harness;

  @BeforeAll
  static void start() {
    harness =
        new WorkerHarness(
            Path.of("src/test/resources/e2e-buckets"), Path.of("src/test/resources/no-journeys"));
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    WorkerHarness.await(condition, Duration.ofSeconds(60), what);
  }

  @Test
  void contactOperationsFromTheCommandLineTravelThroughTheShards() throws Exception {
    String address = harness.config.temporalAddress();
    String queue = harness.config.taskQueue();
    harness.ingestClient().send(Json.MAPPER.readTree("{\"userId\":\"op-2\",\"event\":\"signup\"}"));
    assertThat(
            Main.commandLine()
                .execute(
                    "buckets",
                    "add",
                    "vip",
                    "op-1",
                    "op-2",
                    "--address",
                    address,
                    "--task-queue",
                    queue))
        .isZero();
    var m = dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
    await(
        () ->
            harness
                    .dsl()
                    .fetchCount(m, m.BUCKET_ID.eq("vip").and(m.STATUS.eq(MembershipStatus.ACTIVE)))
                == 2,
        "two vip members");
    assertThat(
            Main.commandLine()
                .execute(
                    "buckets",
                    "remove",
                    "vip",
                    "op-1",
                    "--address",
                    address,
                    "--task-queue",
                    queue))
        .isZero();
    assertThat(
            Main.commandLine()
                .execute("contacts", "delete", "op-2", "--address", address, "--task-queue", queue))
        .isZero();
    await(
        () ->
            harness
                    .dsl()
                    .fetchCount(
                        m,
                        m.BUCKET_ID
                            .eq("vip")
                            .and(m.STATUS.eq(MembershipStatus.ACTIVE))
                            .and(m.DELETED_AT.isNull()))
                == 0,
        "op-1 removed and op-2 deleted");
    var t = dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
    assertThat(
            harness
                .dsl()
                .select(t.USER_ID, t.KIND)
                .from(t)
                .where(t.BUCKET_ID.eq("vip"))
                .orderBy(t.ID)
                .fetch()
                .map(r -> r.value1() + ":" + r.value2()))
        .containsExactlyInAnyOrder(
            "op-1:entered", "op-2:entered", "op-1:left"); // deletion emits nothing
  }

  @Test
  void signalledEventsLandInPostgres() throws Exception {
    List<JsonNode> events = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      ObjectNode e = Json.MAPPER.createObjectNode();
      e.put("userId", "e2e-" + (i % 50))
          .put("event", "page.view")
          .putObject("properties")
          .put("i", i);
      events.add(e);
    }
    events.add(Json.MAPPER.readTree("{\"userId\":\"e2e-0\",\"event\":\"bucket:left:x\"}"));
    harness.ingestClient().sendAll(events, 4);
    harness
        .ingestClient()
        .send(
            Json.MAPPER.readTree(
                "{\"userId\":\"solo\",\"event\":\"signup\",\"userEmail\":\"solo@example.com\",\"properties\":{\"plan\":\"trial\"}}"));

    await(
        () ->
            harness
                        .dsl()
                        .fetchCount(
                            USER_EVENTS,
                            USER_EVENTS.USER_ID.like("e2e-%").or(USER_EVENTS.USER_ID.eq("solo")))
                    == 1_001
                && harness
                        .dsl()
                        .fetchCount(REJECTED_EVENTS, REJECTED_EVENTS.REASON.eq("reserved_event"))
                    == 1,
        "1,001 stored events and 1 rejection");
    assertThat(
            harness
                .dsl()
                .fetchCount(
                    CONTACTS,
                    CONTACTS.EXTERNAL_ID.like("e2e-%").or(CONTACTS.EXTERNAL_ID.eq("solo"))))
        .isEqualTo(51);
    // The last event of each user wins its properties.
    assertThat(
            Json.object(
                    harness
                        .dsl()
                        .select(CONTACTS.PROPERTIES)
                        .from(CONTACTS)
                        .where(CONTACTS.EXTERNAL_ID.eq("e2e-7"))
                        .fetchOne(CONTACTS.PROPERTIES))
                .get("i")
                .asInt())
        .isEqualTo(957);
    assertThat(
            harness
                .dsl()
                .select(CONTACTS.EMAIL)
                .from(CONTACTS)
                .where(CONTACTS.EXTERNAL_ID.eq("solo"))
                .fetchOne(CONTACTS.EMAIL))
        .isEqualTo("solo@example.com");

    int shard = Shards.shardOf("solo", 8);
    EventIngestWorkflow stub =
        harness
            .worker
            .client()
            .newWorkflowStub(EventIngestWorkflow.class, Shards.workflowId(shard));
    // A batch counts as applied once its activity's completion is recorded, a moment after its
    // commit.
    WorkerHarness.await(
        () -> stub.stats().pending() == 0,
        Duration.ofSeconds(30),
        "the shard with nothing pending");
    IngestStats stats = stub.stats();
    assertThat(stats.shard()).isEqualTo(shard);
    assertThat(stats.pending()).isZero();
    assertThat(stats.applied()).isPositive();
    assertThat(stats.lastBatchAt()).isNotNull();
  }
}
