package dev.bucketflow.db;

import static dev.bucketflow.schema.Tables.BUCKET_BACKFILL_JOBS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.JOURNEY_STATES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bucketflow.backfill.BackfillJob;
import dev.bucketflow.backfill.BackfillProgress;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.journey.JourneyStatus;
import dev.bucketflow.testing.DatabaseTest;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.Test;

/**
 * Status, kind and source columns are Java enums through jOOQ converters. These tests hold the
 * three spellings together: the enum's {@code db()}, the column's CHECK constraint, and the JSON
 * that Temporal payloads (and the histories already written) carry.
 */
class EnumColumnsTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");

  @Test
  void everyMembershipStatusAndSourceIsStoredAndReadBackAsItself() {
    var m = BUCKET_MEMBERSHIPS;
    int n = 0;
    for (MembershipStatus status : MembershipStatus.values()) {
      for (MembershipSource source : MembershipSource.values()) {
        n++;
        dsl.insertInto(m, m.USER_ID, m.BUCKET_ID, m.STATUS, m.ENTERED_AT, m.ENTRY_COUNT, m.SOURCE)
            .values("enum-user-" + n, "enum-bucket", status, T0, 1, source)
            .execute();
        var row =
            dsl.select(m.STATUS, m.SOURCE, m.STATUS.cast(String.class), m.SOURCE.cast(String.class))
                .from(m)
                .where(m.USER_ID.eq("enum-user-" + n))
                .fetchOne();
        assertThat(row.value1()).isEqualTo(status);
        assertThat(row.value2()).isEqualTo(source);
        assertThat(row.value3()).isEqualTo(status.name().toLowerCase());
        assertThat(row.value4()).isEqualTo(source.name().toLowerCase());
      }
    }
  }

  @Test
  void everyTransitionKindAndJourneyAndBackfillValuePassesItsCheckConstraint() {
    var t = BUCKET_TRANSITIONS;
    int epoch = 0;
    for (TransitionKind kind : TransitionKind.values()) {
      dsl.insertInto(t, t.BUCKET_ID, t.USER_ID, t.KIND, t.EPOCH, t.SOURCE, t.EMITTED)
          .values("enum-bucket", "enum-user", kind, ++epoch, MembershipSource.EVENT, true)
          .execute();
    }
    assertThat(
            dsl.select(t.KIND).from(t).where(t.USER_ID.eq("enum-user")).orderBy(t.ID).fetch(t.KIND))
        .containsExactly(TransitionKind.values());

    var j = JOURNEY_STATES;
    int entry = 0;
    for (JourneyStatus status : JourneyStatus.values()) {
      dsl.insertInto(
              j, j.JOURNEY_ID, j.USER_ID, j.STATUS, j.ENTRY_COUNT, j.WORKFLOW_ID, j.TRIGGER_EVENT)
          .values("enum-journey", "enum-user", status, ++entry, "wf-" + entry, "go")
          .execute();
    }
    assertThat(dsl.select(j.STATUS).from(j).orderBy(j.ID).fetch(j.STATUS))
        .containsExactly(JourneyStatus.values());

    var b = BUCKET_BACKFILL_JOBS;
    List<BackfillStatus> stored =
        Arrays.stream(BackfillStatus.values()).filter(s -> s != BackfillStatus.OPENING).toList();
    int job = 0;
    for (BackfillKind kind : BackfillKind.values()) {
      for (BackfillStatus status : stored) {
        dsl.insertInto(b, b.BUCKET_ID, b.CRITERIA_HASH, b.KIND, b.STATUS)
            .values("enum-" + ++job, "h", kind, status)
            .execute();
      }
    }
    assertThat(dsl.fetchCount(b)).isEqualTo(BackfillKind.values().length * stored.size());
    // OPENING is a progress answer only; the column refuses it.
    assertThatThrownBy(
            () ->
                dsl.insertInto(b, b.BUCKET_ID, b.CRITERIA_HASH, b.KIND, b.STATUS)
                    .values("enum-opening", "h", BackfillKind.REEVAL, BackfillStatus.OPENING)
                    .execute())
        .isInstanceOf(DataAccessException.class)
        .hasMessageContaining("check");
  }

  @Test
  void payloadsKeepTheLowerCaseSpellingOldHistoriesHold() throws Exception {
    BackfillJob job =
        new BackfillJob(
            7, "b", "h", BackfillKind.FIRST_TIME, BackfillStatus.RUNNING, 1, 0, 0, 0, null);
    String json = Json.MAPPER.writeValueAsString(job);
    assertThat(json).contains("\"kind\":\"first_time\"").contains("\"status\":\"running\"");
    assertThat(Json.MAPPER.readValue(json, BackfillJob.class)).isEqualTo(job);
    // What a history written before the enums existed holds.
    assertThat(
            Json.MAPPER
                .readValue(
                    "{\"processed\":3,\"totals\":4,\"joined\":1,\"left\":0,\"status\":\"completed\"}",
                    BackfillProgress.class)
                .status())
        .isEqualTo(BackfillStatus.COMPLETED);
    // String building (event names, keys) must never see the constant's name.
    assertThat("bucket:" + TransitionKind.ENTERED + ":b").isEqualTo("bucket:entered:b");
    assertThat(MembershipSource.fromDb("reconcile")).isEqualTo(MembershipSource.RECONCILE);
    assertThatThrownBy(() -> MembershipStatus.fromDb("ACTIVE"))
        .hasMessageContaining("expected active or left");
  }
}
