package dev.bucketflow.admin;

import dev.bucketflow.backfill.BackfillService;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.journey.JourneyRegistry;
import dev.bucketflow.membership.BucketCatalog;
import io.temporal.client.WorkflowClient;
import java.time.Clock;
import org.jooq.DSLContext;

/**
 * What the admin API reads and drives: the worker's own database, loaded definitions, backfill
 * service and Temporal client (never copies of them, so the API sees what the worker runs).
 *
 * @param adminToken {@code BUCKETFLOW_ADMIN_TOKEN}; null or empty = mutations are refused with 403
 */
public record AdminContext(
    DSLContext dsl,
    BucketCatalog catalog,
    JourneyRegistry journeys,
    BackfillService backfill,
    WorkflowClient client,
    String taskQueue,
    Clock clock,
    String adminToken) {

  /** The loaded definition, or 404 {@code unknown_bucket}. */
  BucketDefinition bucket(String id) {
    return catalog
        .byId(id)
        .orElseThrow(
            () ->
                ApiError.notFound(
                    "unknown_bucket",
                    "bucket "
                        + ApiError.quote(id)
                        + " is not defined on this worker (GET /api/buckets lists them)"));
  }

  boolean tokenConfigured() {
    return adminToken != null && !adminToken.isEmpty();
  }
}
