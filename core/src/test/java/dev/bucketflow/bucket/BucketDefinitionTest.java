package dev.bucketflow.bucket;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.any;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BucketDefinitionTest {

  @Test
  void derivedPropertiesOfTheExamples() {
    BucketDefinition power = Fixtures.powerUsers();
    assertThat(power.timeBased()).isTrue();
    assertThat(power.absenceShaped()).isFalse();
    assertThat(power.reconcilesJoins()).isFalse();
    assertThat(power.referencedEvents()).containsExactly("key_action");
    assertThat(power.referencedProperties()).isEmpty();

    BucketDefinition trial = Fixtures.trialExpiringSoon();
    assertThat(trial.timeBased()).isFalse();
    assertThat(trial.referencedProperties())
        .containsExactly("converted", "plan", "trial_days_left");

    BucketDefinition dormant = Fixtures.wentDormant();
    assertThat(dormant.timeBased()).isTrue();
    assertThat(dormant.absenceShaped()).isTrue();
    assertThat(dormant.reconcilesJoins()).isTrue();
    assertThat(dormant.referencedEvents()).containsExactly("app.active");

    BucketDefinition either = Fixtures.engagedOrPaying();
    assertThat(either.referencedEvents()).containsExactly("key_action");
    assertThat(either.referencedProperties()).containsExactly("plan");
  }

  @Test
  void overridesWin() {
    BucketDefinition b =
        BucketDefinition.builder("b")
            .criteria(any(event("e").within(days(1)).notExists(), prop("p").exists()))
            .timeBased(false)
            .reconcileJoins(false)
            .build();
    assertThat(b.timeBased()).isFalse();
    assertThat(b.absenceShaped()).isTrue();
    assertThat(b.reconcilesJoins()).isFalse();
    BucketDefinition dwell =
        BucketDefinition.builder("d").criteria(prop("p").exists()).maxDwell(days(3)).build();
    assertThat(dwell.timeBased()).isTrue();
    assertThat(
            BucketDefinition.builder("x")
                .criteria(prop("p").exists())
                .timeBased(true)
                .build()
                .timeBased())
        .isTrue();
    assertThat(
            BucketDefinition.builder("u").criteria(event("e").notExists()).build().absenceShaped())
        .as("unbounded absence is not absence-shaped")
        .isFalse();
  }

  @Test
  void namesAndPostHogKey() {
    BucketDefinition bare = BucketDefinition.builder("b").criteria(all(prop("p").exists())).build();
    assertThat(bare.displayName()).isEqualTo("b");
    assertThat(bare.postHogKey()).isEqualTo("hogsend_bucket_b");
    BucketDefinition named =
        BucketDefinition.builder("b")
            .name("Bee")
            .postHogPropertyKey("is_bee")
            .criteria(prop("p").exists())
            .build();
    assertThat(named.displayName()).isEqualTo("Bee");
    assertThat(named.postHogKey()).isEqualTo("is_bee");
  }

  @Test
  void nullKindAndLimitMeanDefaults() {
    BucketDefinition d =
        new BucketDefinition(
            "a", null, null, null, null, null, null, null, null, null, null, false, false, null,
            true);
    assertThat(d.kind()).isEqualTo(BucketKind.DYNAMIC);
    assertThat(d.entryLimit()).isEqualTo(EntryLimit.UNLIMITED);
  }

  @Test
  void enumJsonSpellings() {
    assertThat(PropertyOperator.NOT_EXISTS.json()).isEqualTo("not_exists");
    assertThat(PropertyOperator.fromJson("not_exists")).contains(PropertyOperator.NOT_EXISTS);
    assertThat(PropertyOperator.fromJson("NOT_EXISTS")).isEmpty();
    assertThat(EntryLimit.fromJson("once_per_period")).contains(EntryLimit.ONCE_PER_PERIOD);
    assertThat(CountOperator.fromJson("gte")).contains(CountOperator.GTE);
    assertThat(EventCheck.fromJson("count")).contains(EventCheck.COUNT);
    assertThat(Logic.fromJson("or")).contains(Logic.OR);
    assertThat(BucketKind.MANUAL.json()).isEqualTo("manual");
    assertThat(BucketKind.fromJson(null)).isEmpty();
  }
}
