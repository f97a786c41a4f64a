package dev.bucketflow.membership;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.db.Json;
import dev.bucketflow.event.EventLog;
import dev.bucketflow.event.IncomingEvent;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.Engines;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The kill switch flips while a batch runs (its cache refreshes on another thread at any moment;
 * here its TTL is zero, so every lookup reads {@code bucket_configs}): a bucket turned on between
 * {@code prepare} and {@code apply} has no history loaded for the batch's users, so it must not be
 * evaluated in that batch. Evaluated on a history missing its events it would see "no {@code e}
 * within 7 days" for a user who had one yesterday, and join them wrongly.
 */
class KillSwitchDuringBatchTest extends DatabaseTest {

  static final Instant NOW = Instant.parse("2026-11-10T00:00:00Z");

  /** Matches on f only without e in the last week: u has e in its history, so u never matches. */
  static final BucketDefinition QUIET =
      BucketDefinition.builder("quiet-but-f")
          .criteria(all(event("f").exists(), event("e").within(days(7)).notExists()))
          .build();

  static final BucketDefinition ANY_F =
      BucketDefinition.builder("any-f").criteria(event("f").exists()).build();

  @Test
  void aBucketTurnedOnBetweenPrepareAndApplyIsNotEvaluatedOnHistoryNeverLoaded() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, bucket_memberships, "
            + "bucket_transitions, bucket_configs");
    MembershipEngine engine = Engines.engine(dsl, List.of(QUIET, ANY_F));
    EventLog.append(
        dsl,
        List.of(new EventLog.Entry("u", "e", "{}", NOW.minus(days(1)), NOW.minus(days(1)), null)));
    dsl.update(BUCKET_CONFIGS)
        .set(BUCKET_CONFIGS.ENABLED, false)
        .where(BUCKET_CONFIGS.BUCKET_ID.eq(QUIET.id()))
        .execute();

    IncomingEvent f =
        new IncomingEvent("u", "f", Json.MAPPER.createObjectNode(), null, NOW, NOW, null);
    List<dev.bucketflow.membership.Transition> written =
        dsl.transactionResult(
            cfg -> {
              MembershipEngine.Prepared prepared =
                  engine.prepare(
                      cfg.dsl(),
                      List.of(f),
                      Map.of(
                          "u",
                          new MembershipEngine.ContactState(Json.MAPPER.createObjectNode(), null)),
                      NOW);
              // Someone turns the bucket on now, mid-batch (committed on another connection).
              dsl.update(BUCKET_CONFIGS)
                  .set(BUCKET_CONFIGS.ENABLED, true)
                  .where(BUCKET_CONFIGS.BUCKET_ID.eq(QUIET.id()))
                  .execute();
              return prepared.apply(List.of(f));
            });

    assertThat(written)
        .extracting(dev.bucketflow.membership.Transition::bucketId)
        .containsExactly(ANY_F.id());
  }
}
