package dev.bucketflow.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.backfill.BackfillRequest;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.expiry.ExpiryRequest;
import dev.bucketflow.journeys.JourneyInput;
import io.temporal.client.WorkflowOptions;
import io.temporal.common.SearchAttributes;
import io.temporal.common.interceptors.Header;
import io.temporal.common.interceptors.WorkflowClientCallsInterceptor.WorkflowStartInput;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The labels the interceptor puts on each kind of start (VisibilityIT checks them on a server). */
class VisibilityInterceptorTest {

  static WorkflowStartInput start(String type, String id, Object arg, WorkflowOptions options) {
    return new WorkflowStartInput(id, type, Header.empty(), new Object[] {arg}, options);
  }

  static final WorkflowOptions PLAIN =
      WorkflowOptions.newBuilder().setTaskQueue("q").setWorkflowId("w").build();

  @Test
  void expiryGetsBucketUserAndADueSummary() {
    long due = Instant.parse("2026-12-03T10:00:42Z").toEpochMilli();
    WorkflowOptions o =
        new VisibilityInterceptor(true)
            .enrich(
                start("BucketExpiry", "w", new ExpiryRequest("power-users", "u1", 2, due), PLAIN))
            .getOptions();
    assertThat(o.getStaticSummary()).isEqualTo("expiry · power-users · u1 · due 2026-12-03T10:00Z");
    assertThat(o.getTypedSearchAttributes().get(Visibility.BUCKET_ID)).isEqualTo("power-users");
    assertThat(o.getTypedSearchAttributes().get(Visibility.USER_ID)).isEqualTo("u1");
  }

  @Test
  void journeyNamesItsBucketFromTheTrigger() {
    WorkflowOptions o =
        new VisibilityInterceptor(true)
            .enrich(
                start(
                    "WinbackJourney",
                    "w",
                    new JourneyInput("winback", "u1", 1, "bucket:entered:went-dormant", null, null),
                    PLAIN))
            .getOptions();
    assertThat(o.getStaticSummary())
        .isEqualTo("journey · winback · u1 · on bucket:entered:went-dormant");
    assertThat(o.getTypedSearchAttributes().get(Visibility.BUCKET_ID)).isEqualTo("went-dormant");
    WorkflowOptions plain =
        new VisibilityInterceptor(true)
            .enrich(
                start(
                    "WinbackJourney",
                    "w",
                    new JourneyInput("welcome", "u1", 1, "signup", null, null),
                    PLAIN))
            .getOptions();
    assertThat(plain.getTypedSearchAttributes().get(Visibility.BUCKET_ID)).isNull();
    assertThat(plain.getTypedSearchAttributes().get(Visibility.USER_ID)).isEqualTo("u1");
  }

  @Test
  void everyOtherOptionIsKept() {
    WorkflowOptions own =
        WorkflowOptions.newBuilder(PLAIN)
            .setMemo(Map.of("entryCount", 3))
            .setWorkflowExecutionTimeout(java.time.Duration.ofHours(1))
            .build();
    WorkflowOptions o =
        new VisibilityInterceptor(true)
            .enrich(
                start(
                    "WinbackJourney",
                    "w",
                    new JourneyInput("winback", "u1", 3, "bucket:entered:went-dormant", null, null),
                    own))
            .getOptions();
    assertThat(o.getMemo()).isEqualTo(Map.of("entryCount", 3));
    assertThat(o.getWorkflowExecutionTimeout()).isEqualTo(java.time.Duration.ofHours(1));
    assertThat(o.getTaskQueue()).isEqualTo("q");
    assertThat(o.getWorkflowId()).isEqualTo("w");
  }

  @Test
  void withoutRegisteredAttributesOnlyTheSummaryIsSet() {
    WorkflowOptions o =
        new VisibilityInterceptor(false)
            .enrich(
                start(
                    "BucketBackfill",
                    "w",
                    new BackfillRequest("b", "h", BackfillKind.REEVAL),
                    PLAIN))
            .getOptions();
    assertThat(o.getStaticSummary()).isEqualTo("backfill · b · reeval");
    assertThat(o.getTypedSearchAttributes()).isNull();
  }

  @Test
  void callerOptionsWinAndUnknownTypesAreUntouched() {
    WorkflowOptions own =
        WorkflowOptions.newBuilder(PLAIN)
            .setStaticSummary("mine")
            .setTypedSearchAttributes(
                SearchAttributes.newBuilder().set(Visibility.USER_ID, "x").build())
            .build();
    WorkflowOptions o =
        new VisibilityInterceptor(true)
            .enrich(start("BucketExpiry", "w", new ExpiryRequest("b", "u", 1, 0), own))
            .getOptions();
    assertThat(o.getStaticSummary()).isEqualTo("mine");
    assertThat(o.getTypedSearchAttributes().get(Visibility.USER_ID)).isEqualTo("x");
    assertThat(o.getTypedSearchAttributes().get(Visibility.BUCKET_ID)).isNull();
    WorkflowStartInput other = start("SomethingElse", "w", Map.of(), PLAIN);
    assertThat(new VisibilityInterceptor(true).enrich(other)).isSameAs(other);
    assertThat(
            new VisibilityInterceptor(true)
                .enrich(start("EventIngest", "bucketflow-ingest-3", Map.of(), PLAIN))
                .getOptions()
                .getStaticSummary())
        .isEqualTo("ingest · bucketflow-ingest-3");
  }
}
