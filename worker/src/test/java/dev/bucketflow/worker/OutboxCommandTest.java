package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.POSTHOG_MIRROR;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.testing.DatabaseTest;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code bucketflow outbox} and {@code outbox retry} against a fresh database. */
class OutboxCommandTest extends DatabaseTest {

  @BeforeEach
  void clean() {
    dsl.execute("TRUNCATE bucket_transitions, journey_outbox, posthog_mirror RESTART IDENTITY");
  }

  long transition(String user, String kind, int attempts, Instant parkedAt, String error) {
    var t = BUCKET_TRANSITIONS;
    return dsl.insertInto(
            t,
            t.BUCKET_ID,
            t.USER_ID,
            t.KIND,
            t.EPOCH,
            t.SOURCE,
            t.EMITTED,
            t.ATTEMPTS,
            t.PARKED_AT,
            t.LAST_ERROR)
        .values(
            "vip",
            user,
            TransitionKind.fromDb(kind),
            1,
            MembershipSource.EVENT,
            true,
            attempts,
            parkedAt,
            error)
        .returningResult(t.ID)
        .fetchOne(t.ID);
  }

  @Test
  void listsPendingRetryingAndParkedRowsWithTheirErrorsAndRetryPutsThemBackInLine() {
    transition("u1", "entered", 0, null, null);
    transition("u2", "entered", 2, null, "StatusRuntimeException: UNAVAILABLE");
    long parked =
        transition(
            "u3",
            "left",
            25,
            Instant.parse("2026-12-01T10:00:00Z"),
            "IllegalStateException: journey type unknown");
    var p = POSTHOG_MIRROR;
    dsl.insertInto(
            p,
            p.USER_ID,
            p.BUCKET_ID,
            p.PROPERTY_KEY,
            p.MEMBER,
            p.VERSION,
            p.SHARD,
            p.CHANGED_AT,
            p.ATTEMPTS,
            p.PARKED_AT,
            p.LAST_ERROR)
        .values(
            "u4",
            "vip",
            "hogsend_bucket_vip",
            true,
            2L,
            0,
            Instant.parse("2026-12-01T09:00:00Z"),
            25,
            Instant.parse("2026-12-01T09:30:00Z"),
            "CaptureFailed: PostHog capture answered HTTP 400")
        .execute();

    BucketsCommandTest.Run list = BucketsCommandTest.runDb("outbox");
    assertThat(list.exit()).isZero();
    assertThat(list.out())
        .containsPattern("transitions\\s+2\\s+1\\s+1")
        .containsPattern("journey-events\\s+0\\s+0\\s+0")
        .containsPattern("posthog\\s+0\\s+0\\s+1")
        .contains("u3", "left vip (epoch 1)", "journey type unknown")
        .contains("u4/vip", "$set hogsend_bucket_vip", "HTTP 400");

    BucketsCommandTest.Run one =
        BucketsCommandTest.runDb(
            "outbox", "retry", "--stream", "transitions", "--key", String.valueOf(parked));
    assertThat(one.exit()).isZero();
    assertThat(one.out()).startsWith("1 parked row(s) back in line");
    var row = dsl.selectFrom(BUCKET_TRANSITIONS).where(BUCKET_TRANSITIONS.ID.eq(parked)).fetchOne();
    assertThat(row.getParkedAt()).isNull();
    assertThat(row.getAttempts()).isZero();
    assertThat(dsl.fetchCount(p, p.PARKED_AT.isNotNull())).isEqualTo(1);

    assertThat(BucketsCommandTest.runDb("outbox", "retry").out()).startsWith("1 parked row(s)");
    assertThat(dsl.fetchCount(p, p.PARKED_AT.isNotNull())).isZero();
  }

  @Test
  void refusesAnUnknownStreamAndAKeyWithoutAStream() {
    BucketsCommandTest.Run bad = BucketsCommandTest.runDb("outbox", "retry", "--stream", "emails");
    assertThat(bad.exit()).isNotZero();
    assertThat(bad.err())
        .contains("--stream: expected transitions, journey-events or posthog, got 'emails'");
    BucketsCommandTest.Run keyOnly = BucketsCommandTest.runDb("outbox", "retry", "--key", "7");
    assertThat(keyOnly.exit()).isNotZero();
    assertThat(keyOnly.err()).contains("--key needs --stream");
    BucketsCommandTest.Run notANumber =
        BucketsCommandTest.runDb("outbox", "retry", "--stream", "transitions", "--key", "x");
    assertThat(notANumber.exit()).isNotZero();
    assertThat(notANumber.err()).contains("a row id is a number, got 'x'");
  }
}
