package dev.bucketflow.journey;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.Durations;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.LoadResult;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class JourneyExamplesTest {
  static final Path JOURNEYS = Path.of("../examples/journeys");
  static final Path BUCKETS = Path.of("../examples/buckets");

  static JourneyDefinition winback() {
    return JourneyDefinition.builder("winback")
        .triggerEvent("bucket:entered:went-dormant")
        .exitOn("bucket:left:went-dormant")
        .workflowType("WinbackJourney")
        .entryLimit(EntryLimit.UNLIMITED)
        .enabled(true)
        .setting("followUpAfter", Map.of("days", 3))
        .setting("template", "winback")
        .setting("followUpTemplate", "winback-follow-up")
        .build();
  }

  static JourneyDefinition powerUserWelcome() {
    return JourneyDefinition.builder("power-user-welcome")
        .triggerEvent("bucket:entered:power-users")
        .exitOn("bucket:left:power-users")
        .workflowType("WinbackJourney")
        .entryLimit(EntryLimit.ONCE)
        .setting("followUpAfter", Map.of("days", 2))
        .setting("template", "power-welcome")
        .setting("followUpTemplate", "power-follow-up")
        .build();
  }

  static Set<String> exampleBucketIds() {
    LoadResult buckets = BucketJson.load(BUCKETS);
    assertThat(buckets.problems()).isEmpty();
    return buckets.buckets().stream().map(BucketDefinition::id).collect(Collectors.toSet());
  }

  @Test
  void examplesLoadAndValidateAgainstTheExampleBuckets() {
    Set<String> bucketIds = exampleBucketIds();
    assertThat(bucketIds).contains("went-dormant", "power-users");

    JourneyLoadResult loaded = JourneyJson.load(JOURNEYS);
    assertThat(loaded.problems()).isEmpty();
    // Sorted by file name.
    assertThat(loaded.journeys()).containsExactly(powerUserWelcome(), winback());
    assertThat(
            JourneyValidator.validate(
                loaded.journeys(), bucketIds, "bucketflow", Set.of("WinbackJourney")))
        .isEmpty();
    assertThat(JourneyJson.load(JOURNEYS, bucketIds, "bucketflow", Set.of("WinbackJourney")).ok())
        .isTrue();
  }

  @Test
  void examplesFailWithoutTheirBucketsOrTheirType() {
    JourneyLoadResult r = JourneyJson.load(JOURNEYS, Set.of(), "bucketflow", Set.of());
    assertThat(r.problems())
        .extracting(p -> p.path())
        .containsExactly(
            "power-user-welcome.triggerEvent",
            "power-user-welcome.exitOn[0]",
            "power-user-welcome.workflowType",
            "winback.triggerEvent",
            "winback.exitOn[0]",
            "winback.workflowType");
  }

  @Test
  void winbackFileEqualsItsBuilderTwinAndRoutes() {
    JourneyLoadResult r = JourneyJson.load(JOURNEYS.resolve("winback.json"));
    assertThat(r.journeys()).containsExactly(winback());
    JourneyDefinition d = r.journeys().get(0);
    assertThat(d.taskQueue()).isNull();
    assertThat(d.taskQueueOr("bucketflow")).isEqualTo("bucketflow");
    assertThat(d.workflowId("u1")).isEqualTo("journey:winback:u1");
    assertThat(Durations.parse(d.settings().get("followUpAfter"))).isEqualTo(Duration.ofDays(3));

    JourneyRegistry registry = new JourneyRegistry(JourneyJson.load(JOURNEYS).journeys());
    assertThat(registry.triggeredBy("bucket:entered:went-dormant")).containsExactly(winback());
    assertThat(registry.exitedBy("bucket:left:power-users")).containsExactly(powerUserWelcome());
    assertThat(registry.wantsGenericTransition("bucket:entered")).isFalse();
  }
}
