package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.JOURNEY_STATES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bucketflow.admin.Visibility;
import dev.bucketflow.backfill.BackfillWorkflow;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.WorkflowIds;
import dev.bucketflow.db.Json;
import io.temporal.client.WorkflowExecutionDescription;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Temporal visibility: the worker registers {@code BucketflowBucketId} / {@code BucketflowUserId}
 * at start (the Java test server implements the OperatorService), and the expiry watch and the
 * journey a join starts, and the boot backfill, carry them and a static summary — found through the
 * client's describe call, as the Web UI would show them.
 */
class VisibilityIT {

  static final Duration DEADLINE = Duration.ofSeconds(90);
  static AdminHarness h;

  @BeforeAll
  static void start() throws Exception {
    h =
        new AdminHarness(
            Path.of("src/test/resources/visibility-buckets"),
            Path.of("src/test/resources/visibility-journeys"));
  }

  @AfterAll
  static void stop() {
    if (h != null) h.close();
  }

  static WorkflowExecutionDescription describe(String workflowId) {
    return h.worker.client().newUntypedWorkflowStub(workflowId).describe();
  }

  @Test
  void expiryJourneyAndBackfillCarrySearchAttributesAndSummaries() throws Exception {
    Instant at = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    h.ingest()
        .send(
            Json.MAPPER.readTree(
                "{\"userId\":\"v1\",\"event\":\"purchase\",\"occurredAt\":\"" + at + "\"}"));

    String expiryId = WorkflowIds.expiry("recent-buyers", "v1", 1);
    await()
        .atMost(DEADLINE)
        .ignoreExceptions()
        .untilAsserted(() -> assertThat(describe(expiryId)).isNotNull());
    WorkflowExecutionDescription expiry = describe(expiryId);
    assertThat(expiry.getWorkflowType()).isEqualTo("BucketExpiry");
    assertThat(expiry.getTypedSearchAttributes().get(Visibility.BUCKET_ID))
        .isEqualTo("recent-buyers");
    assertThat(expiry.getTypedSearchAttributes().get(Visibility.USER_ID)).isEqualTo("v1");
    String due =
        at.plus(1, ChronoUnit.HOURS)
            .truncatedTo(ChronoUnit.MINUTES)
            .toString()
            .replace(":00Z", "Z");
    assertThat(expiry.getStaticSummary()).isEqualTo("expiry · recent-buyers · v1 · due " + due);

    var j = JOURNEY_STATES;
    await().atMost(DEADLINE).until(() -> h.dsl().fetchCount(j, j.USER_ID.eq("v1")) == 1);
    String journeyId =
        h.dsl().select(j.WORKFLOW_ID).from(j).where(j.USER_ID.eq("v1")).fetchSingle().value1();
    WorkflowExecutionDescription journey = describe(journeyId);
    assertThat(journey.getWorkflowType()).isEqualTo("WinbackJourney");
    assertThat(journey.getTypedSearchAttributes().get(Visibility.BUCKET_ID))
        .isEqualTo("recent-buyers");
    assertThat(journey.getTypedSearchAttributes().get(Visibility.USER_ID)).isEqualTo("v1");
    assertThat(journey.getStaticSummary())
        .isEqualTo("journey · thanks · v1 · on bucket:entered:recent-buyers");

    String hash = BucketJson.fingerprint(h.context().catalog().byId("recent-buyers").orElseThrow());
    WorkflowExecutionDescription backfill =
        describe(BackfillWorkflow.workflowId("recent-buyers", hash));
    assertThat(backfill.getStaticSummary()).isEqualTo("backfill · recent-buyers · first_time");
    assertThat(backfill.getTypedSearchAttributes().get(Visibility.BUCKET_ID))
        .isEqualTo("recent-buyers");
    assertThat(backfill.getTypedSearchAttributes().get(Visibility.USER_ID)).isNull();
    // Ingest shards are started by signal-with-start; the Java test server does not keep the
    // summary of such a start, so it is not asserted here (VisibilityInterceptorTest covers the
    // options).
  }
}
