package dev.bucketflow.bucket;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.any;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;

import java.nio.file.Path;
import java.util.List;

/** The four example buckets, written with the builder; must equal examples/buckets/*.json. */
final class Fixtures {
  static final Path EXAMPLES = Path.of("../examples/buckets");

  static BucketDefinition powerUsers() {
    return BucketDefinition.builder("power-users")
        .name("Power users")
        .description(
            "Did key_action at least 10 times in the last 30 days. Greets a user again at most once a week.")
        .criteria(event("key_action").within(days(30)).atLeast(10))
        .entryLimit(EntryLimit.ONCE_PER_PERIOD)
        .entryPeriod(days(7))
        .build();
  }

  static BucketDefinition trialExpiringSoon() {
    return BucketDefinition.builder("trial-expiring-soon")
        .name("Trial expiring soon")
        .description(
            "On a trial with at most 3 days left and not converted (converted may be missing).")
        .criteria(
            all(
                prop("plan").eq("trial"),
                prop("trial_days_left").lte(3),
                prop("converted").neq(true)))
        .entryLimit(EntryLimit.ONCE)
        .build();
  }

  static BucketDefinition wentDormant() {
    return BucketDefinition.builder("went-dormant")
        .name("Went dormant")
        .description(
            "Was active at some point but not in the last 7 days. Joins come from the reconcile sweep as users go quiet.")
        .criteria(
            all(event("app.active").exists(), event("app.active").within(days(7)).notExists()))
        .build();
  }

  static BucketDefinition engagedOrPaying() {
    return BucketDefinition.builder("engaged-or-paying")
        .name("Engaged or paying")
        .description("On the pro plan, or did key_action at least 3 times in the last 7 days.")
        .criteria(any(prop("plan").eq("pro"), event("key_action").within(days(7)).atLeast(3)))
        .build();
  }

  static List<BucketDefinition> examples() {
    return List.of(powerUsers(), trialExpiringSoon(), wentDormant(), engagedOrPaying());
  }

  private Fixtures() {}
}
