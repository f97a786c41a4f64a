package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_BACKFILL_JOBS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.JOURNEY_STATES;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.db.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Editing a bucket's criteria and restarting the worker: a re-evaluation moves the members —
 * non-matchers leave with {@code bucket:left} and their journeys exit, new matchers join silently —
 * and an unchanged restart starts no job.
 */
class CriteriaChangeIT {

  static final Path JOURNEYS = Path.of("src/test/resources/restart-journeys");
  static WorkerHarness harness;

  @BeforeAll
  static void start() {
    harness = new WorkerHarness(Path.of("src/test/resources/restart-v1"), JOURNEYS);
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    WorkerHarness.await(condition, Duration.ofSeconds(30), what);
  }

  static void send(String user, String plan) {
    ObjectNode e = Json.MAPPER.createObjectNode();
    e.put("userId", user).put("event", "plan.changed").putObject("properties").put("plan", plan);
    harness.ingestClient().send(e);
  }

  List<String> transitions() {
    var t = BUCKET_TRANSITIONS;
    return harness
        .dsl()
        .select(t.USER_ID, t.KIND, t.SOURCE, t.EMITTED)
        .from(t)
        .orderBy(t.ID)
        .fetch()
        .map(r -> r.value1() + ":" + r.value2() + ":" + r.value3() + ":" + r.value4());
  }

  String journeyStatus(String user) {
    return harness
        .dsl()
        .select(JOURNEY_STATES.STATUS)
        .from(JOURNEY_STATES)
        .where(JOURNEY_STATES.USER_ID.eq(user))
        .fetchOptional(JOURNEY_STATES.STATUS)
        .map(s -> s.db())
        .orElse(null);
  }

  @Test
  void changedCriteriaReevaluateMembersAndAnUnchangedRestartDoesNothing() throws Exception {
    await(
        () ->
            harness
                    .dsl()
                    .fetchCount(
                        BUCKET_BACKFILL_JOBS,
                        BUCKET_BACKFILL_JOBS.STATUS.eq(BackfillStatus.COMPLETED))
                == 1,
        "first-time backfill of the new bucket");
    send("c1", "trial");
    send("c2", "trial");
    send("c3", "pro");
    await(
        () -> "running".equals(journeyStatus("c1")) && "running".equals(journeyStatus("c2")),
        "journeys of c1 and c2");
    // c3's event too must be applied under v1 before the restart (it has its own shard).
    await(
        () -> harness.dsl().fetchCount(USER_EVENTS, USER_EVENTS.USER_ID.eq("c3")) >= 1,
        "c3's event applied under v1");

    harness.restartWith(Path.of("src/test/resources/restart-v2"), JOURNEYS);
    await(
        () ->
            harness
                    .dsl()
                    .fetchCount(
                        BUCKET_BACKFILL_JOBS,
                        BUCKET_BACKFILL_JOBS.STATUS.eq(BackfillStatus.COMPLETED))
                == 2,
        "re-evaluation");
    assertThat(
            harness
                .dsl()
                .select(BUCKET_BACKFILL_JOBS.KIND)
                .from(BUCKET_BACKFILL_JOBS)
                .orderBy(BUCKET_BACKFILL_JOBS.ID)
                .fetch(BUCKET_BACKFILL_JOBS.KIND))
        .containsExactly(BackfillKind.FIRST_TIME, BackfillKind.REEVAL);
    assertThat(transitions())
        .containsExactlyInAnyOrder(
            "c1:entered:event:true",
            "c2:entered:event:true",
            "c1:left:backfill:true",
            "c2:left:backfill:true",
            "c3:entered:backfill:false");
    assertThat(
            harness.dsl().fetchCount(USER_EVENTS, USER_EVENTS.EVENT.eq("bucket:left:plan-bucket")))
        .isEqualTo(2);
    assertThat(
            harness
                .dsl()
                .fetchCount(
                    USER_EVENTS,
                    USER_EVENTS
                        .EVENT
                        .eq("bucket:entered:plan-bucket")
                        .and(USER_EVENTS.USER_ID.eq("c3"))))
        .isZero();
    var m = BUCKET_MEMBERSHIPS;
    assertThat(
            harness
                .dsl()
                .select(m.USER_ID)
                .from(m)
                .where(m.STATUS.eq(MembershipStatus.ACTIVE))
                .fetch(m.USER_ID))
        .containsExactly("c3");
    await(
        () -> "exited".equals(journeyStatus("c1")) && "exited".equals(journeyStatus("c2")),
        "journeys exit");
    assertThat(journeyStatus("c3")).isNull(); // a silent join starts no journey

    harness.restartWith(Path.of("src/test/resources/restart-v2"), JOURNEYS);
    // Boot opens any job row before it returns, so a wrongly planned job would be visible now.
    assertThat(harness.dsl().fetchCount(BUCKET_BACKFILL_JOBS)).isEqualTo(2);
  }
}
