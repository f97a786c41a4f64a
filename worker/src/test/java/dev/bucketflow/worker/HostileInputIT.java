package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.ingest.EventIngestWorkflow;
import dev.bucketflow.shard.Shards;
import io.temporal.api.common.v1.Payload;
import io.temporal.api.common.v1.Payloads;
import io.temporal.api.common.v1.WorkflowType;
import io.temporal.api.taskqueue.v1.TaskQueue;
import io.temporal.api.workflowservice.v1.SignalWithStartWorkflowExecutionRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * Hostile input through the real EventIngest workflow and worker, sent as raw JSON bytes over gRPC
 * the way any other SDK would (no client-side validation, no Java serializer in between).
 * Afterwards every shard must still apply an ordinary event, and every hostile item must be
 * accounted for: stored, or a rejected_events row; none dropped, none retried forever.
 */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(2)
class HostileInputIT {

  static WorkerHarness harness;

  @BeforeAll
  static void start() {
    harness =
        new WorkerHarness(
            Path.of("src/test/resources/hostile-buckets"),
            Path.of("src/test/resources/no-journeys"));
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  private static String deep(int levels) {
    return "[".repeat(levels) + "]".repeat(levels);
  }

  /** Each value: one signal ('event' unless the text starts with '['), one expected outcome. */
  static Map<String, String> hostileCases() {
    String k3 = "k".repeat(3_000);
    Map<String, String> c = new LinkedHashMap<>();
    c.put(
        "nul in property value",
        "{\"userId\":\"h1\",\"event\":\"x\",\"properties\":{\"a\":\"x\\u0000y\"}}");
    c.put(
        "nul in property key",
        "{\"userId\":\"h1\",\"event\":\"x\",\"properties\":{\"a\\u0000\":1}}");
    c.put("nul in userId", "{\"userId\":\"h\\u00001\",\"event\":\"x\"}");
    c.put("nul in event", "{\"userId\":\"h1\",\"event\":\"x\\u0000\"}");
    c.put("nul in userEmail", "{\"userId\":\"h1\",\"event\":\"x\",\"userEmail\":\"a\\u0000@b.c\"}");
    c.put(
        "nul deep in an array",
        "{\"userId\":\"h1\",\"event\":\"x\",\"properties\":{\"a\":[{\"b\":[\"\\u0000\"]}]}}");
    c.put("long userId", "{\"userId\":\"" + k3 + "\",\"event\":\"x\"}");
    c.put("long event", "{\"userId\":\"h2\",\"event\":\"" + k3 + "\"}");
    c.put("long key", "{\"userId\":\"h2\",\"event\":\"x\",\"idempotencyKey\":\"" + k3 + "\"}");
    c.put(
        "long property key",
        "{\"userId\":\"h2\",\"event\":\"x\",\"properties\":{\"" + k3 + "\":1}}");
    c.put(
        "year -5000",
        "{\"userId\":\"h3\",\"event\":\"ping\",\"occurredAt\":\"-5000-01-01T00:00:00Z\"}");
    c.put(
        "year 294276",
        "{\"userId\":\"h3\",\"event\":\"ping\",\"occurredAt\":\"+294276-12-30T00:00:00Z\"}");
    c.put(
        "year 9999",
        "{\"userId\":\"h3\",\"event\":\"ping\",\"occurredAt\":\"9999-01-01T00:00:00Z\"}");
    c.put(
        "nested 999",
        "{\"userId\":\"h4\",\"event\":\"x\",\"properties\":{\"a\":" + deep(995) + "}}");
    c.put(
        "nested 1500",
        "{\"userId\":\"h4\",\"event\":\"x\",\"properties\":{\"a\":" + deep(1_500) + "}}");
    c.put(
        "lone high surrogate",
        "{\"userId\":\"h5\",\"event\":\"x\",\"properties\":{\"a\":\"\\ud800\"}}");
    c.put("lone low surrogate in userId", "{\"userId\":\"h5\\udc00\",\"event\":\"x\"}");
    c.put(
        "3000-digit number",
        "{\"userId\":\"h6\",\"event\":\"x\",\"properties\":{\"n\":" + "9".repeat(3_000) + "}}");
    c.put(
        "999-digit number",
        "{\"userId\":\"h6\",\"event\":\"x\",\"properties\":{\"n\":" + "9".repeat(999) + "}}");
    c.put("infinite double", "{\"userId\":\"h6\",\"event\":\"x\",\"properties\":{\"n\":1e400}}");
    c.put("numeric userId", "{\"userId\":42,\"event\":\"x\"}");
    c.put("empty userId", "{\"userId\":\"\",\"event\":\"x\"}");
    c.put(
        "reserved key",
        "{\"userId\":\"carol\",\"event\":\"x\",\"idempotencyKey\":\"bucket:ping7:carol:entered:1\"}");
    c.put("not an object", "\"just a string\"");
    c.put(
        "1.9 MB event",
        "{\"userId\":\"h7\",\"event\":\"x\",\"properties\":{\"pad\":\""
            + "z".repeat(1_900_000)
            + "\"}}");
    c.put(
        "events list with an unreadable element",
        "[{\"userId\":\"h8\",\"event\":\"x\",\"properties\":" + deep(1_500) + "}]");
    return c;
  }

  /** Seeded random strings of control characters, surrogates and plain text (reproducible). */
  static List<String> randomCases(int n, long seed) {
    Random r = new Random(seed);
    char[] alphabet = {
      '\u0000', '\u0001', '\u001f', '"', '\\', '\ud800', '\udbff', '\udc00', '\udfff', 'a', 'Z',
      '€', '\u2028'
    };
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      StringBuilder s = new StringBuilder();
      int len = 1 + r.nextInt(40);
      for (int j = 0; j < len; j++) s.append(alphabet[r.nextInt(alphabet.length)]);
      String escaped = jsonEscape(s.toString());
      String field =
          switch (i % 4) {
            case 0 -> "{\"userId\":\"" + escaped + "\",\"event\":\"x\"}";
            case 1 -> "{\"userId\":\"r" + i + "\",\"event\":\"" + escaped + "\"}";
            case 2 ->
                "{\"userId\":\"r"
                    + i
                    + "\",\"event\":\"x\",\"properties\":{\""
                    + escaped
                    + "\":\""
                    + escaped
                    + "\"}}";
            default ->
                "{\"userId\":\"r"
                    + i
                    + "\",\"event\":\"x\",\"properties\":{\"n\":"
                    + (r.nextBoolean() ? "-" : "")
                    + "1"
                    + "0".repeat(r.nextInt(400))
                    + "e"
                    + (r.nextInt(800) - 400)
                    + "}}";
          };
      out.add(field);
    }
    return out;
  }

  private static String jsonEscape(String s) {
    StringBuilder b = new StringBuilder();
    for (char ch : s.toCharArray()) {
      if (ch < 0x20 || ch == '"' || ch == '\\' || Character.isSurrogate(ch))
        b.append(String.format("\\u%04x", (int) ch));
      else b.append(ch);
    }
    return b.toString();
  }

  private void rawSignal(int shard, String signal, String json) {
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
    harness
        .service
        .blockingStub()
        .signalWithStartWorkflowExecution(
            SignalWithStartWorkflowExecutionRequest.newBuilder()
                .setNamespace(harness.config.namespace())
                .setWorkflowId(Shards.workflowId(shard))
                .setWorkflowType(WorkflowType.newBuilder().setName(EventIngestWorkflow.TYPE))
                .setTaskQueue(TaskQueue.newBuilder().setName(harness.config.taskQueue()))
                .setInput(Payloads.newBuilder().addPayloads(start))
                .setSignalName(signal)
                .setSignalInput(Payloads.newBuilder().addPayloads(payload))
                .setRequestId(UUID.randomUUID().toString())
                .build());
  }

  private long userEvents() {
    return harness.dsl().fetchCount(USER_EVENTS, USER_EVENTS.EVENT.notLike("bucket:%"));
  }

  @Test
  void noHostileInputStopsAShardAndEveryItemIsAccountedFor() throws Exception {
    long eventsBefore = userEvents();
    long rejectedBefore = harness.dsl().fetchCount(REJECTED_EVENTS);
    List<String> items = new ArrayList<>(hostileCases().values());
    items.addAll(randomCases(200, 20261202L));
    int shards = harness.config.shards();
    for (int i = 0; i < items.size(); i++) {
      String item = items.get(i);
      rawSignal(i % shards, item.startsWith("[") ? "events" : "event", item);
    }
    // Then one ordinary event per shard: each must apply within seconds.
    List<String> ordinary = new ArrayList<>();
    for (int s = 0; s < shards; s++) {
      String user = "ordinary-" + s;
      for (int k = 0; Shards.shardOf(user, shards) != s; k++) user = "ordinary-" + s + "-" + k;
      ordinary.add(user);
      rawSignal(s, "event", "{\"userId\":\"" + user + "\",\"event\":\"ping\"}");
    }
    rawSignal(
        Shards.shardOf("carol", shards), "event", "{\"userId\":\"carol\",\"event\":\"ping\"}");

    var m = BUCKET_MEMBERSHIPS;
    WorkerHarness.await(
        () ->
            harness
                    .dsl()
                    .fetchCount(
                        m,
                        m.BUCKET_ID
                            .eq("ping7")
                            .and(m.USER_ID.in(ordinary))
                            .and(m.STATUS.eq(MembershipStatus.ACTIVE)))
                == shards,
        Duration.ofSeconds(30),
        "an ordinary event applied on every shard");
    WorkerHarness.await(
        () ->
            (userEvents() - eventsBefore)
                    + (harness.dsl().fetchCount(REJECTED_EVENTS) - rejectedBefore)
                == items.size() + shards + 1,
        Duration.ofSeconds(30),
        "every hostile item stored or rejected");

    // Nothing retried forever: every shard is idle with nothing pending.
    for (int s = 0; s < shards; s++) {
      EventIngestWorkflow shard =
          harness.worker.client().newWorkflowStub(EventIngestWorkflow.class, Shards.workflowId(s));
      // A batch counts as applied once its activity's completion is recorded, a moment after its
      // commit.
      WorkerHarness.await(
          () -> shard.stats().pending() == 0,
          Duration.ofSeconds(30),
          "nothing pending on " + Shards.workflowId(s));
      assertThat(shard.stats().pending()).as("pending on shard %d", s).isZero();
    }
    Map<String, String> expectedReasons = new LinkedHashMap<>();
    expectedReasons.put("x\\u0000y", "invalid_text");
    expectedReasons.put("kkkkkkkkkk", "field_too_long");
    expectedReasons.put("-5000-01-01", "invalid_field");
    expectedReasons.put("+294276", "invalid_field");
    expectedReasons.put("9999-01-01", "invalid_field");
    expectedReasons.put("\\ud800", "invalid_text");
    expectedReasons.put("bucket:ping7:carol", "reserved_key");
    expectedReasons.put("zzzzzzzzzz", "payload_too_large");
    expectedReasons.forEach(
        (needle, reason) ->
            assertThat(
                    harness
                        .dsl()
                        .select(REJECTED_EVENTS.REASON)
                        .from(REJECTED_EVENTS)
                        .where(REJECTED_EVENTS.PAYLOAD.contains(needle))
                        .fetch(REJECTED_EVENTS.REASON))
                .as("rejections of the payload containing %s", needle)
                .isNotEmpty()
                .allMatch(reason::equals));
    assertThat(harness.dsl().fetchCount(REJECTED_EVENTS, REJECTED_EVENTS.REASON.eq("too_deep")))
        .isGreaterThanOrEqualTo(3);
    // The year-9999 ping made nobody a member for millennia; carol's transition kept its key.
    assertThat(harness.dsl().fetchCount(m, m.USER_ID.eq("h3"))).isZero();
    java.time.Instant expires =
        harness
            .dsl()
            .select(m.EXPIRES_AT)
            .from(m)
            .where(m.USER_ID.eq(ordinary.get(0)).and(m.BUCKET_ID.eq("ping7")))
            .fetchOne(m.EXPIRES_AT);
    assertThat(expires).isBefore(java.time.Instant.now().plus(Duration.ofDays(8)));
    assertThat(
            harness
                .dsl()
                .fetchCount(
                    USER_EVENTS,
                    USER_EVENTS
                        .IDEMPOTENCY_KEY
                        .eq("bucket:ping7:carol:entered:1")
                        .and(USER_EVENTS.EVENT.eq("bucket:entered:ping7"))))
        .isEqualTo(1);
  }

  @Test
  void sendRefusesAnOversizedLineByNumberAndSendsTheRest() throws Exception {
    Path file = java.nio.file.Files.createTempFile("events", ".jsonl");
    java.nio.file.Files.writeString(
        file,
        String.join(
                "\n",
                "{\"userId\":\"send-1\",\"event\":\"ping\"}",
                "{\"userId\":\"send-2\",\"event\":\"ping\",\"properties\":{\"pad\":\""
                    + "y".repeat(40 * 1024)
                    + "\"}}",
                "{\"userId\":\"send-3\",\"event\":\"ping\"}")
            + "\n");
    picocli.CommandLine cli = Main.commandLine();
    java.io.StringWriter err = new java.io.StringWriter();
    cli.setErr(new java.io.PrintWriter(err, true));
    int code =
        cli.execute(
            "send",
            "--file",
            file.toString(),
            "--address",
            harness.config.temporalAddress(),
            "--task-queue",
            harness.config.taskQueue());

    assertThat(code).isEqualTo(1);
    assertThat(err.toString())
        .contains(file + ":2:")
        .contains("not sent")
        .doesNotContain(":1:")
        .doesNotContain(":3:");
    WorkerHarness.await(
        () ->
            harness
                    .dsl()
                    .fetchCount(
                        USER_EVENTS,
                        USER_EVENTS
                            .USER_ID
                            .in("send-1", "send-3")
                            .and(USER_EVENTS.EVENT.eq("ping")))
                == 2,
        Duration.ofSeconds(30),
        "the two other lines stored");
    assertThat(harness.dsl().fetchCount(USER_EVENTS, USER_EVENTS.USER_ID.eq("send-2"))).isZero();
  }
}
