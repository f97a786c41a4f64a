package dev.bucketflow.journey;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.Problem;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class JourneyValidatorTest {
  static final Set<String> BUCKETS = Set.of("went-dormant", "power-users");
  static final String OWN = "bucketflow";
  static final Set<String> TYPES = Set.of("WinbackJourney");

  static JourneyDefinition.Builder valid(String id) {
    return JourneyDefinition.builder(id).triggerEvent("signup").workflowType("WinbackJourney");
  }

  static List<String> problems(JourneyDefinition... journeys) {
    return JourneyValidator.validate(List.of(journeys), BUCKETS, OWN, TYPES).stream()
        .map(Problem::toString)
        .toList();
  }

  static List<String> paths(JourneyDefinition... journeys) {
    return JourneyValidator.validate(List.of(journeys), BUCKETS, OWN, TYPES).stream()
        .map(Problem::path)
        .toList();
  }

  @Test
  void validJourneysHaveNoProblems() {
    assertThat(
            problems(
                valid("a").build(),
                valid("b")
                    .triggerEvent("bucket:entered:went-dormant")
                    .exitOn("bucket:left:went-dormant", "purchase")
                    .build(),
                valid("c").triggerEvent("bucket:entered").exitOn("bucket:left").build(),
                valid("d").taskQueue(OWN).build(),
                valid("e").oncePer(Duration.ofDays(1)).build(),
                // entryPeriod with another limit: allowed (unused).
                valid("f").entryLimit(EntryLimit.ONCE).entryPeriod(Duration.ofDays(1)).build()))
        .isEmpty();
  }

  @Test
  void idMustBeASlugAndUnique() {
    assertThat(paths(valid("Win_Back").build())).containsExactly("Win_Back.id");
    assertThat(paths(valid("-x").build())).containsExactly("-x.id");
    assertThat(paths(valid("a".repeat(64)).build())).containsExactly("a".repeat(64) + ".id");
    assertThat(problems(valid("a").build(), valid("a").build()))
        .containsExactly("a.id: duplicate id");
  }

  @Test
  void triggerEventIsRequired() {
    assertThat(problems(valid("a").triggerEvent(null).build()))
        .containsExactly("a.triggerEvent: is required");
    assertThat(problems(valid("a").triggerEvent(" ").build()))
        .containsExactly("a.triggerEvent: is required");
  }

  @Test
  void triggerNamingAMissingBucket() {
    assertThat(problems(valid("winback").triggerEvent("bucket:entered:ghosts").build()))
        .containsExactly(
            "winback.triggerEvent: \"bucket:entered:ghosts\" names bucket 'ghosts' which does not exist");
    assertThat(paths(valid("winback").triggerEvent("bucket:left:ghosts").build()))
        .containsExactly("winback.triggerEvent");
    assertThat(paths(valid("winback").triggerEvent("bucket:entered:").build()))
        .containsExactly("winback.triggerEvent");
  }

  @Test
  void exitNamingAMissingBucketHasItsIndex() {
    assertThat(
            problems(
                valid("winback")
                    .exitOn("purchase", "bucket:left:ghosts", "bucket:entered:nope")
                    .build()))
        .containsExactly(
            "winback.exitOn[1]: \"bucket:left:ghosts\" names bucket 'ghosts' which does not exist",
            "winback.exitOn[2]: \"bucket:entered:nope\" names bucket 'nope' which does not exist");
  }

  @Test
  void otherReservedNamesAreErrors() {
    assertThat(
            paths(
                valid("a")
                    .triggerEvent("bucket:joined:went-dormant")
                    .exitOn("bucket:", "bucket:enteredx")
                    .build()))
        .containsExactly("a.triggerEvent", "a.exitOn[0]", "a.exitOn[1]");
    assertThat(problems(valid("a").triggerEvent("bucket:foo").build()).get(0)).contains("reserved");
  }

  @Test
  void exitOnMustNotContainTheTriggerOrRepeatOrBeEmpty() {
    assertThat(problems(valid("a").exitOn("purchase", "signup").build()))
        .singleElement()
        .asString()
        .startsWith("a.exitOn[1]: \"signup\" is the triggerEvent");
    assertThat(paths(valid("a").exitOn("x", "x", "").build()))
        .containsExactly("a.exitOn[1]", "a.exitOn[2]");
  }

  @Test
  void workflowTypeIsRequired() {
    assertThat(problems(valid("a").workflowType(null).build()))
        .containsExactly("a.workflowType: is required");
    assertThat(problems(valid("a").workflowType("").taskQueue("elsewhere").build()))
        .containsExactly("a.workflowType: is required");
  }

  @Test
  void ownQueueJourneyNeedsARegisteredType() {
    assertThat(problems(valid("a").workflowType("Unknown").build()))
        .singleElement()
        .asString()
        .startsWith("a.workflowType: workflow type \"Unknown\" is not registered by this worker");
    // Naming the own queue explicitly is the same as omitting it.
    assertThat(paths(valid("a").workflowType("Unknown").taskQueue(OWN).build()))
        .containsExactly("a.workflowType");
    // Another queue may be served by any SDK: no type check.
    assertThat(
            problems(
                valid("a").workflowType("winback_journey").taskQueue("python-journeys").build()))
        .isEmpty();
    // Null sets mean "none registered" / "no buckets".
    assertThat(
            JourneyValidator.validate(
                List.of(valid("a").triggerEvent("bucket:entered:went-dormant").build()),
                null,
                OWN,
                null))
        .extracting(Problem::path)
        .containsExactly("a.triggerEvent", "a.workflowType");
  }

  @Test
  void blankTaskQueueIsAnError() {
    assertThat(paths(valid("a").taskQueue(" ").build())).containsExactly("a.taskQueue");
  }

  @Test
  void entryPeriodRules() {
    assertThat(problems(valid("a").entryLimit(EntryLimit.ONCE_PER_PERIOD).build()))
        .containsExactly("a.entryPeriod: once_per_period needs a positive entryPeriod");
    assertThat(paths(valid("a").oncePer(Duration.ZERO).build())).containsExactly("a.entryPeriod");
    assertThat(problems(valid("a").entryPeriod(Duration.ofDays(-1)).build()))
        .containsExactly("a.entryPeriod: must not be negative");
  }

  @Test
  void everyProblemIsReportedNotJustTheFirst() {
    JourneyDefinition bad =
        JourneyDefinition.builder("Bad")
            .triggerEvent("bucket:entered:ghosts")
            .exitOn("bucket:entered:ghosts", "bucket:left:ghosts")
            .workflowType("Nope")
            .entryLimit(EntryLimit.ONCE_PER_PERIOD)
            .build();
    assertThat(paths(bad))
        .containsExactly(
            "Bad.id",
            "Bad.triggerEvent",
            "Bad.exitOn[0]",
            "Bad.exitOn[1]",
            "Bad.workflowType",
            "Bad.entryPeriod");
  }

  @Test
  void disabledJourneysAreValidatedToo() {
    assertThat(paths(valid("a").workflowType("Unknown").enabled(false).build()))
        .containsExactly("a.workflowType");
  }
}
