package dev.bucketflow.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.admin.Views.BucketList;
import dev.bucketflow.admin.Views.JourneyRef;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.db.Json;
import dev.bucketflow.journey.JourneyDefinition;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.util.List;

/**
 * The {@code /api} routes (README "Admin API" documents each path and its JSON). Reads are open;
 * {@code PATCH /api/buckets/{id}} and {@code POST /api/buckets/{id}/backfill} pass {@link
 * AdminAuth} first. Every refusal is an {@link ApiError}, rendered by {@link AdminServer} as 4xx
 * JSON.
 */
final class AdminApi {

  /** Request bodies: duplicate keys and trailing tokens are malformed, as at the ingest door. */
  static final ObjectMapper STRICT =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  static final int RECENT_TRANSITIONS = 20;

  private final AdminContext ctx;
  private final AdminAuth auth;
  private final BucketReads buckets;
  private final TrendReads trends;
  private final UserReads users;
  private final Explainer explainer;
  private final Previewer previewer;
  private final BucketMutations mutations;

  AdminApi(AdminContext ctx) {
    this.ctx = ctx;
    this.auth = new AdminAuth(ctx.adminToken());
    this.buckets = new BucketReads(ctx);
    this.trends = new TrendReads(ctx);
    this.users = new UserReads(ctx);
    this.explainer = new Explainer(ctx);
    this.previewer = new Previewer(ctx);
    this.mutations = new BucketMutations(ctx);
  }

  void register(Javalin app) {
    app.get(
        "/api/buckets",
        c -> c.json(new BucketList(buckets.summaries(ctx.catalog().registry().all()))));
    app.get("/api/buckets/{id}", c -> c.json(detail(ctx.bucket(c.pathParam("id")))));
    app.get("/api/buckets/{id}/members", this::members);
    app.get(
        "/api/buckets/{id}/trend",
        c ->
            c.json(
                trends.trend(
                    ctx.bucket(c.pathParam("id")).id(),
                    c.queryParam("interval"),
                    c.queryParam("from"),
                    c.queryParam("to"))));
    app.get(
        "/api/buckets/{id}/explain/{userId}",
        c -> {
          BucketDefinition bucket = ctx.bucket(c.pathParam("id"));
          c.json(explainer.explain(bucket, Params.userId(c.pathParam("userId"))));
        });
    app.get("/api/users/{userId}", c -> c.json(users.user(Params.userId(c.pathParam("userId")))));
    app.post("/api/preview", c -> c.json(previewer.preview(body(c))));
    app.patch(
        "/api/buckets/{id}",
        c -> {
          auth.check(c.header("Authorization"));
          BucketDefinition bucket = ctx.bucket(c.pathParam("id"));
          mutations.setEnabled(bucket, body(c));
          c.json(buckets.summary(bucket));
        });
    app.post(
        "/api/buckets/{id}/backfill",
        c -> {
          auth.check(c.header("Authorization"));
          c.status(202).json(mutations.backfill(ctx.bucket(c.pathParam("id"))));
        });
  }

  private void members(Context c) {
    BucketDefinition bucket = ctx.bucket(c.pathParam("id"));
    String status = c.queryParam("status");
    if (status == null || status.isEmpty()) status = "all";
    if (!status.equals("active") && !status.equals("left") && !status.equals("all")) {
      throw ApiError.badRequest(
          "invalid_status", "status: expected active, left or all, got " + ApiError.quote(status));
    }
    int limit = Params.limit(c.queryParam("limit"), 50, BucketReads.MAX_PAGE);
    String after = c.queryParam("after");
    if (after != null) Params.checkText("after", after);
    String q = c.queryParam("q");
    if (q != null) {
      Params.checkText("q", q);
      if (q.length() > Params.MAX_USER_ID_BYTES)
        throw ApiError.badRequest("invalid_q", "q: longer than a user id can be");
    }
    c.json(buckets.members(bucket.id(), status, limit, after, q));
  }

  /**
   * The definition, settings and counts of one bucket, the journeys it feeds and its newest
   * transitions.
   */
  private ObjectNode detail(BucketDefinition bucket) {
    ObjectNode out = AdminJson.MAPPER.valueToTree(buckets.summary(bucket));
    out.put("description", bucket.description());
    ObjectNode definition = BucketJson.toJson(bucket);
    out.set("definition", definition);
    out.set(
        "criteria",
        bucket.criteria() == null ? Json.MAPPER.nullNode() : BucketJson.toJson(bucket.criteria()));
    ObjectNode settings = out.putObject("settings");
    settings.put("entryLimit", bucket.entryLimit().name().toLowerCase(java.util.Locale.ROOT));
    settings.put(
        "entryPeriod", bucket.entryPeriod() == null ? null : bucket.entryPeriod().toString());
    settings.put("minDwell", bucket.minDwell() == null ? null : bucket.minDwell().toString());
    settings.put("maxDwell", bucket.maxDwell() == null ? null : bucket.maxDwell().toString());
    settings.put("timeBased", bucket.timeBased());
    settings.put("reconcileJoins", bucket.reconcilesJoins());
    settings.put("fastExpiry", bucket.fastExpiry());
    settings.put("syncToPostHog", bucket.syncToPostHog());
    settings.put("enabledInDefinition", bucket.enabled());
    out.set("journeys", AdminJson.MAPPER.valueToTree(journeysFedBy(bucket)));
    out.set(
        "transitions",
        AdminJson.MAPPER.valueToTree(buckets.recentTransitions(bucket.id(), RECENT_TRANSITIONS)));
    return out;
  }

  /** Journeys started or ended by this bucket's transition events. */
  private List<JourneyRef> journeysFedBy(BucketDefinition bucket) {
    String entered = "bucket:entered:" + bucket.id();
    String left = "bucket:left:" + bucket.id();
    return ctx.journeys().all().stream()
        .filter(
            j ->
                entered.equals(j.triggerEvent())
                    || left.equals(j.triggerEvent())
                    || j.exitOn().contains(entered)
                    || j.exitOn().contains(left))
        .map(AdminApi::ref)
        .toList();
  }

  private static JourneyRef ref(JourneyDefinition j) {
    return new JourneyRef(j.id(), j.triggerEvent(), j.exitOn(), j.workflowType(), j.enabled());
  }

  /** The request body as JSON; 400 {@code malformed_json} naming where it broke. */
  static JsonNode body(Context c) {
    String text = c.body();
    if (text.isBlank())
      throw ApiError.badRequest("malformed_json", "body: empty; expected a JSON object");
    try {
      JsonNode node = STRICT.readTree(text);
      if (node == null || node.isMissingNode())
        throw ApiError.badRequest("malformed_json", "body: expected a JSON object");
      return node;
    } catch (JsonProcessingException e) {
      throw ApiError.badRequest(
          "malformed_json",
          "body: not valid JSON ("
              + e.getOriginalMessage()
              + " at line "
              + e.getLocation().getLineNr()
              + ", column "
              + e.getLocation().getColumnNr()
              + ")");
    }
  }
}
