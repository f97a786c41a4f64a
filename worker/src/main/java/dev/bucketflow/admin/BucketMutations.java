package dev.bucketflow.admin;

import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.backfill.BackfillJob;
import dev.bucketflow.backfill.BackfillRequest;
import dev.bucketflow.backfill.BackfillWorkflow;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.db.Json;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowOptions;
import java.util.Iterator;

/**
 * The two admin mutations (both behind {@link AdminAuth}):
 *
 * <ul>
 *   <li>{@code PATCH /api/buckets/{id}} {@code {"enabled": bool}}: flips the run-time kill switch
 *       {@code bucket_configs.enabled}; workers see it within their enabled-switch TTL. A bucket
 *       disabled in its definition file cannot be switched on here (409).
 *   <li>{@code POST /api/buckets/{id}/backfill}: runs the bucket's backfill now, as {@code
 *       bucketflow buckets backfill <id>} does — a first-time backfill for a never backfilled
 *       bucket, else a re-evaluation of the current criteria — through the worker's task queue; 202
 *       with the workflow id, 409 when one is running already.
 * </ul>
 */
final class BucketMutations {

  private final AdminContext ctx;

  BucketMutations(AdminContext ctx) {
    this.ctx = ctx;
  }

  void setEnabled(BucketDefinition bucket, JsonNode body) {
    if (!body.isObject())
      throw ApiError.badRequest(
          "invalid_body", "body: expected a JSON object such as {\"enabled\": false}");
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!f.equals("enabled")) {
        throw ApiError.badRequest(
            "unknown_field", ApiError.quote(f) + ": unknown field (only 'enabled' can be changed)");
      }
    }
    JsonNode enabled = body.get("enabled");
    if (enabled == null || !enabled.isBoolean()) {
      throw ApiError.badRequest("invalid_field", "enabled: expected true or false");
    }
    if (enabled.booleanValue() && !bucket.enabled()) {
      throw ApiError.conflict(
          "disabled_in_definition",
          "bucket "
              + ApiError.quote(bucket.id())
              + " has \"enabled\": false in its definition file; change the file and restart the workers");
    }
    var c = BUCKET_CONFIGS;
    var now = ctx.clock().instant();
    ctx.dsl()
        .insertInto(c, c.BUCKET_ID, c.ENABLED, c.UPDATED_AT)
        .values(bucket.id(), enabled.booleanValue(), now)
        .onConflict(c.BUCKET_ID)
        .doUpdate()
        .set(c.ENABLED, enabled.booleanValue())
        .set(c.UPDATED_AT, now)
        .execute();
  }

  ObjectNode backfill(BucketDefinition bucket) {
    if (bucket.manual() || bucket.criteria() == null) {
      throw ApiError.conflict(
          "manual_bucket",
          "bucket " + ApiError.quote(bucket.id()) + " is manual: nothing to backfill");
    }
    if (!ctx.catalog().isOn(bucket)) {
      throw ApiError.conflict(
          "bucket_disabled",
          "bucket "
              + ApiError.quote(bucket.id())
              + " is disabled: enable it (PATCH {\"enabled\": true}) before a backfill");
    }
    String hash = BucketJson.fingerprint(bucket);
    BackfillKind kind = ctx.backfill().plan(bucket).kind().orElse(BackfillKind.REEVAL);
    String workflowId = BackfillWorkflow.workflowId(bucket.id(), hash);
    boolean running = ctx.backfill().job(bucket.id(), hash).map(BackfillJob::running).orElse(false);
    BackfillWorkflow wf =
        ctx.client()
            .newWorkflowStub(
                BackfillWorkflow.class,
                WorkflowOptions.newBuilder()
                    .setWorkflowId(workflowId)
                    .setTaskQueue(ctx.taskQueue())
                    .build());
    if (!running) ctx.backfill().restart(bucket.id(), hash, kind);
    try {
      WorkflowClient.start(wf::run, BackfillRequest.of(bucket.id(), hash, kind));
    } catch (WorkflowExecutionAlreadyStarted e) {
      throw ApiError.conflict(
          "backfill_running",
          "a backfill of bucket "
              + ApiError.quote(bucket.id())
              + " is running already: "
              + workflowId);
    }
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.put("bucketId", bucket.id());
    out.put("workflowId", workflowId);
    out.put("kind", kind.db());
    out.put("status", "started");
    return out;
  }
}
