package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.db.Json;
import dev.bucketflow.worker.AdminHarness.Reply;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The admin API (README "Admin API") against a real worker, Temporal test server and PostgreSQL:
 * every route, keyset paging across pages, explain on an AND/OR tree with a windowed count, preview
 * agreeing with the members a backfill then materializes, the token rules, 4xx JSON on bad input,
 * and /metrics moving as events flow.
 *
 * <p>Data: 120 {@code trial-NNN} users on the trial plan, the first 10 of whom upgrade (and so
 * leave {@code trial}); alice/bob/carol for {@code engaged}; 30 {@code spend-NN} users for {@code
 * big-spenders}, which is switched off before any event flows.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdminApiIT {

  static final Duration DEADLINE = Duration.ofSeconds(90);
  static final Path BUCKETS = Path.of("src/test/resources/admin-buckets");
  static AdminHarness h;
  static Instant now;
  static Instant aliceNewestKeyAction;
  static final int STORED_EVENTS = 130 + 7 + 6 + 2 + 45;

  @BeforeAll
  static void start() throws Exception {
    h = new AdminHarness(BUCKETS, Path.of("src/test/resources/admin-journeys"));
    // big-spenders off before anything flows: it gets no members until its backfill.
    Reply off =
        h.json(
            "PATCH",
            h.base() + "/api/buckets/big-spenders",
            "{\"enabled\": false}",
            AdminHarness.TOKEN);
    assertThat(off.status()).as(off.text()).isEqualTo(200);
    assertThat(off.json().get("enabled").asBoolean()).isFalse();
    var catalog = h.context().catalog();
    await().atMost(DEADLINE).until(() -> !catalog.isOn(catalog.byId("big-spenders").orElseThrow()));

    now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    List<JsonNode> events = new ArrayList<>();
    for (int i = 0; i < 120; i++)
      events.add(event(String.format("trial-%03d", i), "signup", null, "{\"plan\":\"trial\"}"));
    for (int i = 0; i < 10; i++)
      events.add(event(String.format("trial-%03d", i), "upgrade", null, "{\"plan\":\"pro\"}"));
    // alice: active, 4 key_actions inside the 7-day window and 2 before it, plan free -> engaged by
    // the count.
    events.add(event("alice", "app.active", now.minus(1, ChronoUnit.HOURS), "{\"plan\":\"free\"}"));
    aliceNewestKeyAction = now.minus(1, ChronoUnit.DAYS);
    for (int d : new int[] {12, 10, 4, 3, 2, 1})
      events.add(event("alice", "key_action", now.minus(d, ChronoUnit.DAYS), null));
    // bob: active, only 2 inside the window (5 all time) -> not engaged.
    events.add(event("bob", "app.active", now.minus(2, ChronoUnit.HOURS), "{\"plan\":\"free\"}"));
    for (int d : new int[] {20, 15, 9, 2, 1})
      events.add(event("bob", "key_action", now.minus(d, ChronoUnit.DAYS), null));
    // carol: on pro -> engaged by the property.
    events.add(event("carol", "signup", null, "{\"plan\":\"pro\"}"));
    events.add(event("carol", "app.active", null, null));
    for (int i = 0; i < 30; i++) {
      events.add(
          event(String.format("spend-%02d", i), "profile", null, "{\"spend\":" + (i * 10) + "}"));
      if (i % 2 == 0) events.add(event(String.format("spend-%02d", i), "purchase", null, null));
    }
    ObjectNode refused = (ObjectNode) event("alice", "x", null, null);
    refused.put("idempotencyKey", "bucket:forged");
    events.add(refused);
    h.ingest().sendAll(events, 2);
    var m = BUCKET_MEMBERSHIPS;
    await()
        .atMost(DEADLINE)
        .untilAsserted(
            () -> {
              assertThat(h.dsl().fetchCount(USER_EVENTS, USER_EVENTS.EVENT.notLike("bucket:%")))
                  .isEqualTo(STORED_EVENTS);
              assertThat(h.dsl().fetchCount(REJECTED_EVENTS)).isEqualTo(1);
              assertThat(
                      h.dsl()
                          .fetchCount(
                              m, m.BUCKET_ID.eq("trial").and(m.STATUS.eq(MembershipStatus.ACTIVE))))
                  .isEqualTo(110);
              assertThat(
                      h.dsl()
                          .fetchCount(
                              m, m.BUCKET_ID.eq("trial").and(m.STATUS.eq(MembershipStatus.LEFT))))
                  .isEqualTo(10);
              assertThat(
                      h.dsl()
                          .fetchCount(
                              m,
                              m.BUCKET_ID.eq("engaged").and(m.STATUS.eq(MembershipStatus.ACTIVE))))
                  .isEqualTo(2);
            });
  }

  @AfterAll
  static void stop() {
    if (h != null) h.close();
  }

  static JsonNode event(String user, String name, Instant at, String props) throws Exception {
    ObjectNode e = Json.MAPPER.createObjectNode().put("userId", user).put("event", name);
    if (at != null) e.put("occurredAt", at.toString());
    if (props != null) e.set("properties", Json.MAPPER.readTree(props));
    return e;
  }

  static JsonNode ok(Reply r) {
    assertThat(r.status()).as(r.text()).isEqualTo(200);
    assertThat(r.contentType()).startsWith("application/json");
    return r.json();
  }

  static JsonNode bucket(JsonNode list, String id) {
    for (JsonNode b : list.get("buckets")) if (b.get("id").asText().equals(id)) return b;
    throw new AssertionError("no bucket " + id + " in " + list);
  }

  // ------------------------------------------------------------------ reads

  @Test
  void bucketListCountsSizesMovesAndDwell() throws Exception {
    JsonNode list = ok(h.get("/api/buckets"));
    assertThat(list.get("buckets")).hasSize(3);
    JsonNode trial = bucket(list, "trial");
    assertThat(trial.get("name").asText()).isEqualTo("On trial");
    assertThat(trial.get("kind").asText()).isEqualTo("dynamic");
    assertThat(trial.get("enabled").asBoolean()).isTrue();
    assertThat(trial.get("timeBased").asBoolean()).isFalse();
    assertThat(trial.get("fastExpiry").asBoolean()).isFalse();
    assertThat(trial.get("size").asLong()).isEqualTo(110);
    assertThat(trial.get("entered").asLong()).isEqualTo(120);
    assertThat(trial.get("left").asLong()).isEqualTo(10);
    assertThat(trial.get("avgDwellSeconds").isNumber()).isTrue();
    assertThat(trial.get("avgDwellSeconds").asDouble()).isBetween(0.0, 600.0);
    // first-time backfill at boot (an empty database)
    assertThat(trial.get("backfill").get("status").asText()).isIn("running", "completed");
    assertThat(trial.get("backfill").has("processed")).isTrue();
    assertThat(trial.get("backfill").has("total")).isTrue();
    JsonNode engaged = bucket(list, "engaged");
    assertThat(engaged.get("size").asLong()).isEqualTo(2);
    assertThat(engaged.get("timeBased").asBoolean()).isTrue();
    assertThat(engaged.get("avgDwellSeconds").isNull()).as("no finished stay yet").isTrue();
  }

  @Test
  void bucketDetailHasDefinitionSettingsJourneysAndNewestTransitions() throws Exception {
    JsonNode d = ok(h.get("/api/buckets/engaged"));
    assertThat(d.get("id").asText()).isEqualTo("engaged");
    assertThat(d.get("size").asLong()).isEqualTo(2);
    assertThat(d.get("criteria").get("operator").asText()).isEqualTo("and");
    assertThat(
            d.get("criteria")
                .get("conditions")
                .get(1)
                .get("conditions")
                .get(1)
                .get("within")
                .asText())
        .isEqualTo("PT168H");
    assertThat(d.get("definition").get("id").asText()).isEqualTo("engaged");
    assertThat(d.get("settings").get("entryLimit").asText()).isEqualTo("unlimited");
    assertThat(d.get("journeys")).hasSize(1);
    assertThat(d.get("journeys").get(0).get("id").asText()).isEqualTo("engaged-welcome");
    assertThat(d.get("journeys").get(0).get("triggerEvent").asText())
        .isEqualTo("bucket:entered:engaged");
    List<String> users = new ArrayList<>();
    d.get("transitions")
        .forEach(t -> users.add(t.get("userId").asText() + ":" + t.get("kind").asText()));
    assertThat(users).containsExactlyInAnyOrder("alice:entered", "carol:entered");

    JsonNode trial = ok(h.get("/api/buckets/trial"));
    assertThat(trial.get("transitions")).hasSize(20);
    long previous = Long.MAX_VALUE;
    for (JsonNode t : trial.get("transitions")) {
      assertThat(t.get("id").asLong()).as("newest first").isLessThan(previous);
      previous = t.get("id").asLong();
    }
    assertThat(trial.get("journeys")).isEmpty();
  }

  @Test
  void membersPageByKeysetNewestFirstWithoutGapsOrRepeats() throws Exception {
    List<JsonNode> rows = new ArrayList<>();
    List<Integer> pageSizes = new ArrayList<>();
    String after = null;
    do {
      JsonNode page =
          ok(
              h.get(
                  "/api/buckets/trial/members?status=active&limit=50"
                      + (after == null ? "" : "&after=" + after)));
      pageSizes.add(page.get("members").size());
      page.get("members").forEach(rows::add);
      after = page.get("next").isNull() ? null : page.get("next").asText();
    } while (after != null);
    assertThat(pageSizes).containsExactly(50, 50, 10);
    Set<String> users = new LinkedHashSet<>();
    Instant previous = Instant.MAX;
    for (JsonNode r : rows) {
      assertThat(users.add(r.get("userId").asText())).as("no repeats").isTrue();
      assertThat(r.get("status").asText()).isEqualTo("active");
      Instant entered = Instant.parse(r.get("enteredAt").asText());
      assertThat(entered).as("newest first").isBeforeOrEqualTo(previous);
      previous = entered;
      assertThat(r.get("entryCount").asInt()).isEqualTo(1);
      assertThat(r.get("source").asText()).isEqualTo("event");
      assertThat(r.get("leftAt").isNull()).isTrue();
      assertThat(r.get("leaveReason").isNull()).isTrue();
      assertThat(r.has("expiresAt")).isTrue();
    }
    Set<String> expected = new HashSet<>();
    IntStream.range(10, 120).forEach(i -> expected.add(String.format("trial-%03d", i)));
    assertThat(users).isEqualTo(expected);

    JsonNode left = ok(h.get("/api/buckets/trial/members?status=left&limit=500"));
    assertThat(left.get("next").isNull()).isTrue();
    Set<String> leftUsers = new HashSet<>();
    for (JsonNode r : left.get("members")) {
      leftUsers.add(r.get("userId").asText());
      assertThat(r.get("leaveReason").asText()).isEqualTo("criteria");
      assertThat(r.get("leftAt").isNull()).isFalse();
    }
    assertThat(leftUsers).hasSize(10).allMatch(u -> u.compareTo("trial-010") < 0);

    assertThat(ok(h.get("/api/buckets/trial/members?limit=500")).get("members"))
        .as("all statuses")
        .hasSize(120);
    JsonNode search = ok(h.get("/api/buckets/trial/members?q=trial-11&limit=500"));
    assertThat(search.get("members")).hasSize(10);
    search.get("members").forEach(r -> assertThat(r.get("userId").asText()).startsWith("trial-11"));

    // A cursor is bound to its listing.
    String cursor =
        ok(h.get("/api/buckets/trial/members?status=active&limit=5")).get("next").asText();
    Reply mismatched = h.get("/api/buckets/trial/members?status=left&after=" + cursor);
    assertThat(mismatched.status()).isEqualTo(400);
    assertThat(mismatched.json().get("error").asText()).isEqualTo("invalid_cursor");
  }

  @Test
  void trendCountsJoinsLeavesAndSizePerSlot() throws Exception {
    JsonNode trend = ok(h.get("/api/buckets/trial/trend?interval=hour"));
    JsonNode points = trend.get("points");
    assertThat(points.size()).isBetween(48, 50);
    long entered = 0;
    long left = 0;
    for (JsonNode p : points) {
      Instant at = Instant.parse(p.get("at").asText());
      assertThat(at.getEpochSecond() % 3600).as("UTC hour boundaries").isZero();
      entered += p.get("entered").asLong();
      left += p.get("left").asLong();
      assertThat(p.get("size").asLong()).isEqualTo(entered - left);
    }
    assertThat(entered).isEqualTo(120);
    assertThat(left).isEqualTo(10);
    assertThat(points.get(points.size() - 1).get("size").asLong()).isEqualTo(110);
    assertThat(points.get(0).get("size").asLong()).isZero();

    JsonNode days =
        ok(
            h.get(
                "/api/buckets/trial/trend?interval=day&from="
                    + now.minus(3, ChronoUnit.DAYS)
                    + "&to="
                    + now.plus(1, ChronoUnit.HOURS)));
    JsonNode last = days.get("points").get(days.get("points").size() - 1);
    assertThat(last.get("size").asLong()).isEqualTo(110);
    assertThat(days.get("points").size()).isBetween(4, 5);
  }

  @Test
  void explainShowsEachNodesResultAndObservedValues() throws Exception {
    JsonNode alice = ok(h.get("/api/buckets/engaged/explain/alice"));
    assertThat(alice.get("member").asBoolean()).isTrue();
    assertThat(alice.get("matches").asBoolean()).isTrue();
    JsonNode root = alice.get("criteria");
    assertThat(root.get("operator").asText()).isEqualTo("and");
    assertThat(root.get("result").asBoolean()).isTrue();
    JsonNode active = root.get("conditions").get(0);
    assertThat(active.get("result").asBoolean()).isTrue();
    assertThat(active.get("observed").get("count").asLong()).isEqualTo(1);
    JsonNode or = root.get("conditions").get(1);
    assertThat(or.get("operator").asText()).isEqualTo("or");
    assertThat(or.get("result").asBoolean()).isTrue();
    JsonNode plan = or.get("conditions").get(0);
    assertThat(plan.get("result").asBoolean()).isFalse();
    assertThat(plan.get("observed").get("present").asBoolean()).isTrue();
    assertThat(plan.get("observed").get("value").asText()).isEqualTo("free");
    JsonNode count = or.get("conditions").get(1);
    assertThat(count.get("result").asBoolean()).isTrue();
    assertThat(count.get("observed").get("count").asLong())
        .as("inside the 7-day window")
        .isEqualTo(4);
    assertThat(count.get("observed").get("allTimeCount").asLong()).isEqualTo(6);
    assertThat(Instant.parse(count.get("observed").get("newestAt").asText()))
        .isEqualTo(aliceNewestKeyAction);
    assertThat(Instant.parse(count.get("observed").get("windowStart").asText()))
        .isBetween(now.minus(7, ChronoUnit.DAYS), Instant.now().minus(7, ChronoUnit.DAYS));
    // 4 in the window, 3 needed: the leg flips when the 3rd newest (3 days ago) leaves it, in 4
    // days.
    assertThat(Instant.parse(alice.get("nextFlipAt").asText()))
        .isEqualTo(now.minus(3, ChronoUnit.DAYS).plus(7, ChronoUnit.DAYS));

    JsonNode bob = ok(h.get("/api/buckets/engaged/explain/bob"));
    assertThat(bob.get("member").asBoolean()).isFalse();
    assertThat(bob.get("matches").asBoolean()).isFalse();
    JsonNode bobCount = bob.get("criteria").get("conditions").get(1).get("conditions").get(1);
    assertThat(bobCount.get("result").asBoolean()).isFalse();
    assertThat(bobCount.get("observed").get("count").asLong()).isEqualTo(2);
    assertThat(bobCount.get("observed").get("allTimeCount").asLong()).isEqualTo(5);
    assertThat(bob.get("criteria").get("conditions").get(1).get("result").asBoolean()).isFalse();
    assertThat(bob.get("criteria").get("result").asBoolean()).isFalse();

    JsonNode carol = ok(h.get("/api/buckets/engaged/explain/carol"));
    assertThat(carol.get("matches").asBoolean()).isTrue();
    JsonNode carolPlan = carol.get("criteria").get("conditions").get(1).get("conditions").get(0);
    assertThat(carolPlan.get("result").asBoolean()).isTrue();
    assertThat(carolPlan.get("observed").get("value").asText()).isEqualTo("pro");
    JsonNode carolCount = carol.get("criteria").get("conditions").get(1).get("conditions").get(1);
    assertThat(carolCount.get("observed").get("count").asLong()).isZero();
    assertThat(carolCount.get("observed").get("newestAt").isNull()).isTrue();

    JsonNode upgraded = ok(h.get("/api/buckets/trial/explain/trial-003"));
    assertThat(upgraded.get("member").asBoolean()).isFalse();
    assertThat(upgraded.get("criteria").get("observed").get("value").asText()).isEqualTo("pro");
  }

  @Test
  void userPageHasPropertiesMembershipsTransitionsJourneysAndRejections() throws Exception {
    JsonNode alice = ok(h.get("/api/users/alice"));
    assertThat(alice.get("exists").asBoolean()).isTrue();
    assertThat(alice.get("deleted").asBoolean()).isFalse();
    assertThat(alice.get("properties").get("plan").asText()).isEqualTo("free");
    assertThat(alice.get("memberships")).hasSize(1);
    assertThat(alice.get("memberships").get(0).get("bucketId").asText()).isEqualTo("engaged");
    assertThat(alice.get("memberships").get(0).get("status").asText()).isEqualTo("active");
    assertThat(alice.get("transitions").get(0).get("kind").asText()).isEqualTo("entered");
    assertThat(alice.get("rejectedEvents")).hasSize(1);
    assertThat(alice.get("rejectedEvents").get(0).get("reason").asText()).isEqualTo("reserved_key");
    // The journey run starts once the outbox row is dispatched.
    await()
        .atMost(DEADLINE)
        .untilAsserted(
            () -> {
              JsonNode journeys = ok(h.get("/api/users/alice")).get("journeys");
              assertThat(journeys).hasSize(1);
              assertThat(journeys.get(0).get("journeyId").asText()).isEqualTo("engaged-welcome");
              assertThat(journeys.get(0).get("workflowId").asText()).startsWith("journey:");
            });

    JsonNode upgraded = ok(h.get("/api/users/trial-001"));
    JsonNode past = upgraded.get("memberships").get(0);
    assertThat(past.get("status").asText()).isEqualTo("left");
    assertThat(past.get("leaveReason").asText()).isEqualTo("criteria");
    List<String> kinds = new ArrayList<>();
    upgraded.get("transitions").forEach(t -> kinds.add(t.get("kind").asText()));
    assertThat(kinds).containsExactly("left", "entered");
  }

  // ------------------------------------------------------------------ preview, mutations

  @Test
  void previewCountsWhatTheBackfillThenMaterializesAndSavesNothing() throws Exception {
    JsonNode definition =
        Json.MAPPER.readTree(Files.readString(BUCKETS.resolve("buckets.json"))).get(2);
    assertThat(definition.get("id").asText()).isEqualTo("big-spenders");
    int configsBefore = h.dsl().fetchCount(BUCKET_CONFIGS);
    JsonNode preview = ok(h.json("POST", h.base() + "/api/preview", definition.toString(), null));
    List<String> expected =
        IntStream.range(10, 30)
            .filter(i -> i % 2 == 0)
            .mapToObj(i -> String.format("spend-%02d", i))
            .toList();
    assertThat(preview.get("count").asLong()).isEqualTo(10);
    List<String> sample = new ArrayList<>();
    preview.get("sample").forEach(s -> sample.add(s.asText()));
    assertThat(sample).containsExactlyElementsOf(expected);
    var m = BUCKET_MEMBERSHIPS;
    assertThat(h.dsl().fetchCount(m, m.BUCKET_ID.eq("big-spenders")))
        .as("preview saves nothing")
        .isZero();
    assertThat(h.dsl().fetchCount(BUCKET_CONFIGS)).isEqualTo(configsBefore);

    // A definition of a bucket that does not exist previews too (the form's use).
    ObjectNode other =
        (ObjectNode)
            Json.MAPPER.readTree(
                "{\"id\":\"rich\",\"criteria\":{\"type\":\"property\",\"property\":\"spend\",\"operator\":\"gt\",\"value\":250}}");
    JsonNode rich = ok(h.json("POST", h.base() + "/api/preview", other.toString(), null));
    assertThat(rich.get("count").asLong()).isEqualTo(4); // 260, 270, 280, 290

    Reply on =
        h.json(
            "PATCH",
            h.base() + "/api/buckets/big-spenders",
            "{\"enabled\": true}",
            AdminHarness.TOKEN);
    assertThat(on.status()).as(on.text()).isEqualTo(200);
    assertThat(on.json().get("enabled").asBoolean()).isTrue();
    var catalog = h.context().catalog();
    await().atMost(DEADLINE).until(() -> catalog.isOn(catalog.byId("big-spenders").orElseThrow()));
    Reply started =
        h.json("POST", h.base() + "/api/buckets/big-spenders/backfill", "", AdminHarness.TOKEN);
    assertThat(started.status()).as(started.text()).isEqualTo(202);
    assertThat(started.json().get("workflowId").asText())
        .startsWith("bucketflow-backfill-big-spenders-");
    assertThat(started.json().get("kind").asText()).isEqualTo("reeval");
    await()
        .atMost(DEADLINE)
        .untilAsserted(
            () -> {
              JsonNode b = ok(h.get("/api/buckets/big-spenders"));
              assertThat(b.get("backfill").get("status").asText()).isEqualTo("completed");
              assertThat(b.get("size").asLong()).isEqualTo(10);
            });
    List<String> members = new ArrayList<>();
    ok(h.get("/api/buckets/big-spenders/members?status=active&limit=500"))
        .get("members")
        .forEach(r -> members.add(r.get("userId").asText()));
    assertThat(members).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void mutationsNeedTheTokenAnd403WhenNoneIsConfigured() throws Exception {
    String noToken = "http://127.0.0.1:" + h.adminWithoutToken.port();
    for (Reply r :
        List.of(
            h.json("PATCH", noToken + "/api/buckets/trial", "{\"enabled\": false}", null),
            h.json(
                "PATCH",
                noToken + "/api/buckets/trial",
                "{\"enabled\": false}",
                AdminHarness.TOKEN),
            h.json("POST", noToken + "/api/buckets/trial/backfill", "", AdminHarness.TOKEN))) {
      assertThat(r.status()).as(r.text()).isEqualTo(403);
      assertThat(r.json().get("error").asText()).isEqualTo("mutations_disabled");
      assertThat(r.json().get("message").asText())
          .contains("BUCKETFLOW_ADMIN_TOKEN")
          .contains("Authorization: Bearer");
    }
    for (Reply r :
        List.of(
            h.json("PATCH", h.base() + "/api/buckets/trial", "{\"enabled\": false}", null),
            h.json("PATCH", h.base() + "/api/buckets/trial", "{\"enabled\": false}", "wrong-token"),
            h.json("POST", h.base() + "/api/buckets/trial/backfill", "", null),
            h.json(
                "POST", h.base() + "/api/buckets/trial/backfill", "", AdminHarness.TOKEN + "x"))) {
      assertThat(r.status()).as(r.text()).isEqualTo(401);
      assertThat(r.json().get("error").asText()).isEqualTo("unauthorized");
    }
    assertThat(
            h.dsl()
                .select(BUCKET_CONFIGS.ENABLED)
                .from(BUCKET_CONFIGS)
                .where(BUCKET_CONFIGS.BUCKET_ID.eq("trial"))
                .fetchSingle()
                .value1())
        .as("nothing changed")
        .isTrue();
    // Reads need no token, on either server.
    assertThat(h.get("/api/buckets").status()).isEqualTo(200);
    assertThat(
            h.send(
                    java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(noToken + "/api/buckets/trial")))
                .status())
        .isEqualTo(200);
  }

  @Test
  void badInputIsA4xxJsonErrorNamingTheProblem() throws Exception {
    String huge = "u".repeat(3 * 1024);
    record Case(Reply reply, int status, String error, String mentions) {}
    List<Case> cases =
        List.of(
            new Case(h.get("/api/buckets/nope"), 404, "unknown_bucket", "nope"),
            new Case(h.get("/api/buckets/nope/members"), 404, "unknown_bucket", "nope"),
            new Case(h.get("/api/buckets/" + huge + "/members"), 404, "unknown_bucket", "bucket"),
            new Case(
                h.get("/api/buckets/trial/members?after=garbage"), 400, "invalid_cursor", "after"),
            new Case(
                h.get("/api/buckets/trial/members?after=djF8YWxsfHh8eQ"),
                400,
                "invalid_cursor",
                "after"),
            new Case(h.get("/api/buckets/trial/members?after=%00"), 400, "invalid_text", "after"),
            new Case(h.get("/api/buckets/trial/members?limit=0"), 400, "invalid_limit", "limit"),
            new Case(h.get("/api/buckets/trial/members?limit=abc"), 400, "invalid_limit", "limit"),
            new Case(
                h.get("/api/buckets/trial/members?status=gone"), 400, "invalid_status", "status"),
            new Case(h.get("/api/buckets/trial/members?q=%00"), 400, "invalid_text", "q"),
            new Case(
                h.get("/api/buckets/trial/trend?interval=week"),
                400,
                "invalid_interval",
                "interval"),
            new Case(h.get("/api/buckets/trial/trend?from=yesterday"), 400, "invalid_from", "from"),
            new Case(
                h.get("/api/buckets/trial/trend?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"),
                400,
                "invalid_range",
                "from"),
            new Case(
                h.get("/api/buckets/trial/trend?interval=hour&from=2000-01-01T00:00:00Z"),
                400,
                "invalid_range",
                "points"),
            new Case(h.get("/api/users/" + huge), 400, "invalid_user_id", "256"),
            // Jetty refuses a NUL in the path itself, before routing: still a JSON 400 naming it.
            new Case(h.get("/api/users/a%00b"), 400, "bad_request", "NUL (%00)"),
            new Case(h.get("/api/users/nobody"), 404, "unknown_user", "nobody"),
            new Case(h.get("/api/users/a%2Fb"), 404, "unknown_user", "'a/b'"),
            new Case(h.get("/api/buckets/trial/explain/" + huge), 400, "invalid_user_id", "userId"),
            new Case(h.get("/api/buckets/trial/explain/nobody"), 404, "unknown_user", "nobody"),
            new Case(h.get("/api/buckets/nope/explain/alice"), 404, "unknown_bucket", "nope"),
            new Case(h.get("/no/such/path"), 404, "not_found", "path"),
            new Case(
                h.json("POST", h.base() + "/api/preview", "{\"id\": \"x\", ", null),
                400,
                "malformed_json",
                "body"),
            new Case(
                h.json("POST", h.base() + "/api/preview", "", null), 400, "malformed_json", "body"),
            new Case(
                h.json("POST", h.base() + "/api/preview", "[]", null),
                400,
                "invalid_body",
                "object"),
            new Case(
                h.json("POST", h.base() + "/api/preview", "{\"id\":\"x\",\"id\":\"y\"}", null),
                400,
                "malformed_json",
                "id"),
            new Case(
                h.json(
                    "POST",
                    h.base() + "/api/preview",
                    "{\"id\":\"x\",\"criteria\":{\"type\":\"property\",\"property\":\"p\",\"operator\":\"bogus\",\"value\":1}}",
                    null),
                422,
                "invalid_definition",
                "problem"),
            new Case(
                h.json("PATCH", h.base() + "/api/buckets/trial", "{oops", AdminHarness.TOKEN),
                400,
                "malformed_json",
                "body"),
            new Case(
                h.json(
                    "PATCH",
                    h.base() + "/api/buckets/trial",
                    "{\"enabled\": \"no\"}",
                    AdminHarness.TOKEN),
                400,
                "invalid_field",
                "enabled"),
            new Case(
                h.json(
                    "PATCH",
                    h.base() + "/api/buckets/trial",
                    "{\"enabled\": false, \"size\": 3}",
                    AdminHarness.TOKEN),
                400,
                "unknown_field",
                "size"),
            new Case(
                h.json(
                    "PATCH",
                    h.base() + "/api/buckets/nope",
                    "{\"enabled\": false}",
                    AdminHarness.TOKEN),
                404,
                "unknown_bucket",
                "nope"));
    for (Case c : cases) {
      assertThat(c.reply().status()).as(c.reply().text()).isEqualTo(c.status());
      assertThat(c.reply().contentType()).as(c.reply().text()).startsWith("application/json");
      JsonNode body = c.reply().json();
      assertThat(body.get("error").asText()).as(c.reply().text()).isEqualTo(c.error());
      assertThat(body.get("message").asText())
          .as(c.reply().text())
          .contains(c.mentions())
          .doesNotContain("Exception");
    }
    JsonNode invalid =
        cases.stream().filter(c -> c.status() == 422).findFirst().orElseThrow().reply().json();
    assertThat(invalid.get("problems").get(0).get("path").asText()).contains("criteria");
    assertThat(
            h.dsl()
                .select(BUCKET_CONFIGS.ENABLED)
                .from(BUCKET_CONFIGS)
                .where(BUCKET_CONFIGS.BUCKET_ID.eq("trial"))
                .fetchSingle()
                .value1())
        .isTrue();
  }

  @Test
  void healthAndDashboardAreServed() throws Exception {
    JsonNode health = ok(h.get("/health"));
    assertThat(health.get("status").asText()).isEqualTo("ok");
    Reply page = h.get("/");
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.contentType()).startsWith("text/html");
    Reply charts = h.get("/webjars/echarts/5.3.1/dist/echarts.min.js");
    assertThat(charts.status()).isEqualTo(200);
    assertThat(charts.text()).contains("echarts");
  }

  // ------------------------------------------------------------------ metrics

  static final Pattern SAMPLE = Pattern.compile("^(\\w+)(\\{[^}]*})?\\s+(\\S+)", Pattern.MULTILINE);

  /** The sum of a metric's samples whose labels contain every {@code labels} fragment. */
  static double metric(String text, String name, String... labels) {
    double sum = 0;
    boolean found = false;
    Matcher m = SAMPLE.matcher(text);
    while (m.find()) {
      if (!m.group(1).equals(name)) continue;
      String l = m.group(2) == null ? "" : m.group(2);
      boolean all = true;
      for (String f : labels) all &= l.contains(f);
      if (!all) continue;
      found = true;
      sum += Double.parseDouble(m.group(3));
    }
    if (!found) throw new AssertionError("no sample " + name + " " + String.join(",", labels));
    return sum;
  }

  @Test
  @Order(Integer.MAX_VALUE) // last: its events change bucket sizes the other tests assert
  void metricsExposeIngestTransitionsOutboxAndTemporalAndMoveWithEvents() throws Exception {
    String before = scrape();
    assertThat(metric(before, "bucketflow_events_applied_total"))
        .isGreaterThanOrEqualTo(STORED_EVENTS);
    assertThat(metric(before, "bucketflow_ingest_batch_seconds_count")).isPositive();
    assertThat(metric(before, "bucketflow_events_rejected_total", "reason=\"reserved_key\""))
        .isEqualTo(1);
    assertThat(
            metric(before, "bucketflow_transitions_total", "bucket=\"trial\"", "kind=\"entered\""))
        .isEqualTo(120);
    assertThat(metric(before, "bucketflow_bucket_members", "bucket=\"trial\"")).isEqualTo(110);
    assertThat(metric(before, "bucketflow_outbox_backlog", "outbox=\"bucket_transitions\""))
        .isGreaterThanOrEqualTo(0);
    assertThat(metric(before, "bucketflow_outbox_parked", "outbox=\"bucket_transitions\""))
        .isZero();
    assertThat(metric(before, "bucketflow_outbox_backlog", "outbox=\"posthog_mirror\"")).isZero();
    assertThat(metric(before, "bucketflow_shard_pending")).isGreaterThanOrEqualTo(0);
    assertThat(before)
        .contains("temporal_activity_execution_latency_seconds")
        .contains("activity_type=\"IngestBatch\"");
    assertThat(before).contains("temporal_workflow_task_execution_latency");
    // Backfill durations: the boot backfills (and big-spenders') completed.
    assertThat(
            metric(
                before,
                "temporal_workflow_endtoend_latency_seconds_count",
                "workflow_type=\"BucketBackfill\""))
        .isGreaterThanOrEqualTo(3);
    double applied = metric(before, "bucketflow_events_applied_total");
    double entered =
        metric(before, "bucketflow_transitions_total", "bucket=\"trial\"", "kind=\"entered\"");
    double rejected =
        before.contains("reason=\"reserved_event\"")
            ? metric(before, "bucketflow_events_rejected_total", "reason=\"reserved_event\"")
            : 0;
    double transitioning = metric(before, "bucketflow_event_transition_latency_seconds_count");
    double transitionSeconds = metric(before, "bucketflow_event_transition_latency_seconds_sum");
    double appliedSamples = metric(before, "bucketflow_event_applied_latency_seconds_count");
    // A Prometheus histogram (histogram_quantile over the buckets); the percentiles are on
    // /api/latency.
    assertThat(before)
        .contains("bucketflow_event_transition_latency_seconds_bucket{le=")
        .contains("bucketflow_event_applied_latency_seconds_bucket{le=");
    long sentAt = System.nanoTime();

    List<JsonNode> more = new ArrayList<>();
    for (int i = 0; i < 5; i++)
      more.add(event("metric-" + i, "signup", null, "{\"plan\":\"trial\"}"));
    more.add(event("metric-0", "bucket:entered:trial", null, null));
    h.ingest().sendAll(more, 1);
    await()
        .atMost(DEADLINE)
        .untilAsserted(
            () -> {
              String after = scrape();
              assertThat(metric(after, "bucketflow_events_applied_total")).isEqualTo(applied + 5);
              assertThat(
                      metric(
                          after,
                          "bucketflow_transitions_total",
                          "bucket=\"trial\"",
                          "kind=\"entered\""))
                  .isEqualTo(entered + 5);
              assertThat(
                      metric(
                          after, "bucketflow_events_rejected_total", "reason=\"reserved_event\""))
                  .isEqualTo(rejected + 1);
              // Five signups, each joining trial: exactly five transitioning events, five applied
              // ones.
              assertThat(metric(after, "bucketflow_event_transition_latency_seconds_count"))
                  .isEqualTo(transitioning + 5);
              assertThat(metric(after, "bucketflow_event_applied_latency_seconds_count"))
                  .isEqualTo(appliedSamples + 5);
            });
    double elapsed = (System.nanoTime() - sentAt) / 1e9;
    String after = scrape();
    // Plausible: each new sample is >= 0 and no longer than the whole send-to-scrape span.
    double added =
        metric(after, "bucketflow_event_transition_latency_seconds_sum") - transitionSeconds;
    assertThat(added).isBetween(0.0, 5 * elapsed);
    assertThat(metric(after, "bucketflow_event_transition_latency_seconds_max"))
        .isBetween(0.0, 600.0);
    JsonNode latency = h.get("/api/latency").json().get("eventToTransition");
    assertThat(latency.get("count").asLong()).isEqualTo((long) transitioning + 5);
    assertThat(latency.get("p99Seconds").asDouble()).isBetween(0.0, 600.0);
  }

  static String scrape() throws Exception {
    Reply r = h.get("/metrics");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.contentType()).startsWith("text/plain");
    return r.text();
  }
}
