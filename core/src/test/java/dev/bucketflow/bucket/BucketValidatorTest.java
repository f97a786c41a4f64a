package dev.bucketflow.bucket;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.any;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class BucketValidatorTest {

  static List<String> paths(BucketDefinition... defs) {
    return BucketValidator.validate(List.of(defs)).stream().map(Problem::path).toList();
  }

  static BucketDefinition dynamic(String id, Criterion c) {
    return BucketDefinition.builder(id).criteria(c).build();
  }

  @Test
  void examplesAreValid() {
    assertThat(BucketValidator.validate(Fixtures.examples())).isEmpty();
  }

  @Test
  void rule1DynamicNeedsCriteriaManualHasNone() {
    assertThat(paths(BucketDefinition.builder("d").build())).containsExactly("d.criteria");
    assertThat(paths(BucketDefinition.builder("m").manual().criteria(event("e").exists()).build()))
        .containsExactly("m.criteria");
    assertThat(paths(BucketDefinition.builder("m").manual().build())).isEmpty();
  }

  @Test
  void rule2NeedsAPositiveLeaf() {
    assertThat(paths(dynamic("a", prop("converted").neq(true)))).containsExactly("a.criteria");
    assertThat(paths(dynamic("a", prop("x").notExists()))).containsExactly("a.criteria");
    assertThat(paths(dynamic("a", event("e").notExists()))).containsExactly("a.criteria");
    assertThat(paths(dynamic("a", all(prop("x").notExists(), event("e").notExists()))))
        .containsExactly("a.criteria");
    assertThat(paths(dynamic("a", event("e").count(CountOperator.LT, 3))))
        .containsExactly("a.criteria");
    assertThat(paths(dynamic("a", event("e").atLeast(0)))).containsExactly("a.criteria");
    // An OR branch that is unanchored matches users on its own.
    assertThat(paths(dynamic("a", any(prop("plan").eq("pro"), prop("converted").neq(true)))))
        .containsExactly("a.criteria");
    // Positive shapes.
    assertThat(paths(dynamic("a", event("e").within(days(7)).notExists())))
        .as("windowed absence")
        .isEmpty();
    assertThat(paths(dynamic("a", all(prop("plan").eq("trial"), prop("converted").neq(true)))))
        .isEmpty();
    assertThat(paths(dynamic("a", event("e").count()))).isEmpty();
    assertThat(paths(dynamic("a", event("e").count(CountOperator.GT, 0)))).isEmpty();
    assertThat(paths(dynamic("a", prop("x").exists()))).isEmpty();
  }

  @Test
  void rule3ReservedEventNames() {
    assertThat(paths(dynamic("a", all(prop("p").exists(), event("bucket:entered:b").exists()))))
        .containsExactly("a.criteria.conditions[1].eventName");
  }

  @Test
  void rule4OperandShapes() {
    Criterion bad =
        all(
            new EventCriterion("e", EventCheck.COUNT, CountOperator.GTE, null, null),
            new EventCriterion("e", EventCheck.COUNT, CountOperator.GTE, -1L, null),
            new EventCriterion("e", EventCheck.COUNT, null, 3L, null),
            new EventCriterion("e", EventCheck.EXISTS, CountOperator.GT, 3L, null),
            new EventCriterion("e", EventCheck.EXISTS, null, null, Duration.ZERO),
            new PropertyCriterion("p", PropertyOperator.GT, Criteria.toNode("3")),
            new PropertyCriterion("p", PropertyOperator.EQ, null),
            new PropertyCriterion("p", PropertyOperator.EXISTS, Criteria.toNode(1)),
            new PropertyCriterion("p", PropertyOperator.CONTAINS, Criteria.toNode(1)),
            all(),
            prop("ok").exists());
    assertThat(paths(dynamic("a", bad)))
        .containsExactly(
            "a.criteria.conditions[0].value",
            "a.criteria.conditions[1].value",
            "a.criteria.conditions[2].operator",
            "a.criteria.conditions[3].operator",
            "a.criteria.conditions[3].value",
            "a.criteria.conditions[4].within",
            "a.criteria.conditions[5].value",
            "a.criteria.conditions[6].value",
            "a.criteria.conditions[7].value",
            "a.criteria.conditions[8].value",
            "a.criteria.conditions[9].conditions");
  }

  @Test
  void emptyCompositeIsOneProblem() {
    assertThat(BucketValidator.validate(List.of(dynamic("a", any()))))
        .extracting(Problem::toString)
        .containsExactly("a.criteria.conditions: an empty or composite is not allowed");
  }

  @Test
  void rule5DwellFastExpiryAndIds() {
    BucketDefinition dwell =
        BucketDefinition.builder("a")
            .criteria(prop("p").exists())
            .minDwell(days(2))
            .maxDwell(days(1))
            .build();
    assertThat(paths(dwell)).containsExactly("a.maxDwell");
    BucketDefinition equalDwell =
        BucketDefinition.builder("a")
            .criteria(prop("p").exists())
            .minDwell(days(1))
            .maxDwell(days(1))
            .build();
    assertThat(paths(equalDwell)).isEmpty();

    assertThat(
            paths(
                BucketDefinition.builder("a")
                    .criteria(event("e").exists())
                    .fastExpiry(true)
                    .build()))
        .containsExactly("a.fastExpiry");
    assertThat(
            paths(
                BucketDefinition.builder("a")
                    .criteria(event("e").within(days(1)).exists())
                    .fastExpiry(true)
                    .build()))
        .isEmpty();

    assertThat(paths(dynamic("Bad_Id", prop("p").exists()))).containsExactly("Bad_Id.id");
    assertThat(paths(dynamic("-x", prop("p").exists()))).containsExactly("-x.id");
    assertThat(paths(dynamic("a".repeat(64), prop("p").exists()))).hasSize(1);
    assertThat(paths(dynamic("a".repeat(63), prop("p").exists()))).isEmpty();
    assertThat(paths(dynamic("x", prop("p").exists()), dynamic("x", prop("q").exists())))
        .containsExactly("x.id");

    assertThat(
            paths(
                BucketDefinition.builder("a")
                    .criteria(prop("p").exists())
                    .entryPeriod(Duration.ofDays(-1))
                    .build()))
        .containsExactly("a.entryPeriod");
  }

  @Test
  void oncePerPeriodWithoutPeriodIsAllowed() {
    assertThat(
            paths(
                BucketDefinition.builder("a")
                    .criteria(prop("p").exists())
                    .entryLimit(EntryLimit.ONCE_PER_PERIOD)
                    .build()))
        .isEmpty();
  }

  @Test
  void everyProblemAtOnce() {
    BucketDefinition messy =
        BucketDefinition.builder("Messy")
            .criteria(all(prop("p").neq(1), event("bucket:left:x").notExists()))
            .minDwell(days(3))
            .maxDwell(days(1))
            .fastExpiry(true)
            .build();
    // fastExpiry is fine here: maxDwell moves membership by the clock (issue 12 item 5).
    assertThat(paths(messy))
        .containsExactly(
            "Messy.id",
            "Messy.criteria.conditions[1].eventName",
            "Messy.criteria",
            "Messy.maxDwell");
  }

  @Test
  void durationsBeyondAHundredYearsAreRefusedSoNoInstantArithmeticOverflows() {
    BucketDefinition wide =
        BucketDefinition.builder("wide")
            .criteria(event("e").within(Durations.days(36_501)).exists())
            .maxDwell(Durations.days(1_000_000_000L))
            .build();
    BucketDefinition edge =
        BucketDefinition.builder("edge")
            .criteria(event("e").within(Durations.MAX).exists())
            .maxDwell(Durations.MAX)
            .build();

    assertThat(paths(wide)).containsExactlyInAnyOrder("wide.criteria.within", "wide.maxDwell");
    assertThat(paths(edge)).isEmpty();
  }
}
