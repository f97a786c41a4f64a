package dev.bucketflow.bucket;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BucketRegistryTest {
  final BucketRegistry registry = new BucketRegistry(Fixtures.examples());

  static List<String> ids(List<BucketDefinition> defs) {
    return defs.stream().map(BucketDefinition::id).toList();
  }

  @Test
  void candidatesAreNarrowedByInvertedIndexes() {
    assertThat(registry.candidates("page_view", Set.of())).isEmpty();
    assertThat(registry.candidates("page_view", Set.of("colour", "size"))).isEmpty();
    assertThat(ids(registry.candidates("key_action", Set.of())))
        .containsExactly("engaged-or-paying", "power-users");
    assertThat(ids(registry.candidates("app.active", List.of()))).containsExactly("went-dormant");
    assertThat(ids(registry.candidates("plan_changed", List.of("plan"))))
        .containsExactly("engaged-or-paying", "trial-expiring-soon");
    // Event and property both hit engaged-or-paying: deduped, sorted by id.
    assertThat(ids(registry.candidates("key_action", List.of("plan", "converted"))))
        .containsExactly("engaged-or-paying", "power-users", "trial-expiring-soon");
  }

  @Test
  void transitionEventsAreNeverCandidatesEvenWithIndexedProperties() {
    assertThat(registry.candidates("bucket:entered:power-users", List.of("plan"))).isEmpty();
  }

  @Test
  void manualAndDisabledAreNeverCandidates() {
    List<BucketDefinition> defs = new ArrayList<>(Fixtures.examples());
    defs.add(
        BucketDefinition.builder("off")
            .criteria(event("key_action").exists())
            .enabled(false)
            .build());
    defs.add(BucketDefinition.builder("vip").manual().maxDwell(days(30)).build());
    BucketRegistry r = new BucketRegistry(defs);
    assertThat(ids(r.candidates("key_action", List.of())))
        .containsExactly("engaged-or-paying", "power-users");
    assertThat(r.byId("off")).isPresent();
    assertThat(r.byId("nope")).isEmpty();
    assertThat(ids(r.all()))
        .containsExactly(
            "engaged-or-paying",
            "off",
            "power-users",
            "trial-expiring-soon",
            "vip",
            "went-dormant");
    assertThat(ids(r.enabled())).doesNotContain("off");
    // Time-based: windowed criteria and dwell bounds, enabled only.
    assertThat(ids(r.timeBased()))
        .containsExactly("engaged-or-paying", "power-users", "vip", "went-dormant");
  }

  @Test
  void duplicateIdsAreRefused() {
    assertThatThrownBy(
            () -> new BucketRegistry(List.of(Fixtures.powerUsers(), Fixtures.powerUsers())))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void widestWindowPerEventWithNullForAllTime() {
    Map<String, Duration> w = BucketRegistry.widestWindowByEvent(registry.all());
    assertThat(w).containsOnlyKeys("app.active", "key_action");
    assertThat(w.get("key_action")).isEqualTo(days(30));
    assertThat(w.containsKey("app.active")).isTrue();
    assertThat(w.get("app.active")).as("an all-time leg makes it unbounded").isNull();

    Map<String, Duration> finite = BucketRegistry.widestFiniteWindowByEvent(registry.all());
    assertThat(finite).containsEntry("app.active", days(7)).containsEntry("key_action", days(30));
    assertThat(
            BucketRegistry.widestFiniteWindowByEvent(
                List.of(
                    BucketDefinition.builder("x")
                        .criteria(all(event("e").exists(), prop("p").exists()))
                        .build())))
        .containsEntry("e", Duration.ZERO);
  }

  @Test
  void enabledBucketsSpec() {
    assertThat(BucketRegistry.filtered(Fixtures.examples(), "*").size()).isEqualTo(4);
    assertThat(BucketRegistry.filtered(Fixtures.examples(), null).size()).isEqualTo(4);
    BucketRegistry some =
        BucketRegistry.filtered(Fixtures.examples(), " power-users , went-dormant,ghost");
    assertThat(ids(some.all())).containsExactly("power-users", "went-dormant");
    assertThat(some.candidates("plan_changed", List.of("plan"))).isEmpty();
    assertThat(BucketRegistry.unknownIds(Fixtures.examples(), "power-users,ghost"))
        .containsExactly("ghost");
    assertThat(BucketRegistry.unknownIds(Fixtures.examples(), "*")).isEmpty();
  }
}
