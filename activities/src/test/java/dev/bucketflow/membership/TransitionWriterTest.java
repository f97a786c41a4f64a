package dev.bucketflow.membership;

import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static dev.bucketflow.schema.Tables.USER_EVENT_ROLLUPS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.Criteria;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.testing.TestDatabase;
import java.time.Instant;
import java.util.List;
import org.jooq.DSLContext;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * A transition is written once however often it is written: the outbox row's unique (bucket, user,
 * kind, epoch) gates its events, which carry the deterministic key but claim no {@code
 * user_event_keys} row.
 */
class TransitionWriterTest {

  @AutoClose final TestDatabase db = TestDatabase.fresh();
  final DSLContext dsl = db.dsl();
  static final Instant AT = Instant.parse("2026-05-01T10:00:00Z");
  static final BucketDefinition TRIAL =
      BucketDefinition.builder("trial").criteria(Criteria.prop("plan").eq("trial")).build();

  @Test
  void writingTheSameTransitionTwiceRecordsItAndItsEventsOnce() {
    TransitionWriter writer = new TransitionWriter("bucket:entered"::equals);
    Transition u1 = Transition.entered(TRIAL, "u1", 1, MembershipSource.EVENT, true, AT);
    Transition u2 = Transition.entered(TRIAL, "u2", 1, MembershipSource.EVENT, true, AT);
    Transition u1Left =
        Transition.left(TRIAL, "u1", 1, MembershipSource.RECONCILE, LeaveReason.CRITERIA, AT);
    Transition u1Again = Transition.entered(TRIAL, "u1", 2, MembershipSource.EVENT, true, AT);

    dsl.transaction(cfg -> writer.write(cfg.dsl(), List.of(u1, u2)));
    dsl.transaction(cfg -> writer.write(cfg.dsl(), List.of(u1, u1Left, u2, u1Again)));
    dsl.transaction(cfg -> writer.write(cfg.dsl(), List.of(u1Left)));

    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS)).isEqualTo(4);
    assertThat(
            dsl.select(USER_EVENTS.USER_ID, USER_EVENTS.EVENT, USER_EVENTS.IDEMPOTENCY_KEY)
                .from(USER_EVENTS)
                .orderBy(USER_EVENTS.ID)
                .fetch()
                .map(r -> r.value1() + " " + r.value2() + " " + r.value3()))
        .containsExactly(
            "u1 bucket:entered:trial bucket:trial:u1:entered:1",
            "u1 bucket:entered bucket:trial:u1:entered:1:generic",
            "u2 bucket:entered:trial bucket:trial:u2:entered:1",
            "u2 bucket:entered bucket:trial:u2:entered:1:generic",
            "u1 bucket:left:trial bucket:trial:u1:left:1",
            "u1 bucket:entered:trial bucket:trial:u1:entered:2",
            "u1 bucket:entered bucket:trial:u1:entered:2:generic");
    assertThat(
            dsl.select(USER_EVENT_ROLLUPS.TOTAL_COUNT)
                .from(USER_EVENT_ROLLUPS)
                .where(
                    USER_EVENT_ROLLUPS
                        .USER_ID
                        .eq("u1")
                        .and(USER_EVENT_ROLLUPS.EVENT.eq("bucket:entered:trial")))
                .fetchOne(USER_EVENT_ROLLUPS.TOTAL_COUNT))
        .as("the rollup counts each stored event once")
        .isEqualTo(2L);
    assertThat(dsl.fetchCount(dsl.selectFrom("user_event_keys")))
        .as("transition events claim no key rows: the outbox row is their dedup")
        .isZero();
  }

  @Test
  void aTransitionListedTwiceInOneWriteIsRecordedOnce() {
    TransitionWriter writer = new TransitionWriter("bucket:entered"::equals);
    Transition u1 = Transition.entered(TRIAL, "u1", 1, MembershipSource.EVENT, true, AT);

    dsl.transaction(cfg -> writer.write(cfg.dsl(), List.of(u1, u1)));

    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS)).isEqualTo(1);
    assertThat(dsl.select(USER_EVENTS.EVENT).from(USER_EVENTS).fetch(USER_EVENTS.EVENT))
        .containsExactlyInAnyOrder("bucket:entered:trial", "bucket:entered");
  }
}
