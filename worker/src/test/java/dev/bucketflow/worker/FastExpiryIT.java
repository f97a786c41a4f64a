package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.db.Json;
import dev.bucketflow.expiry.ExpiryWorkflow;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * Fast expiry on the real-time Temporal test server with windows of seconds: leaves come from the
 * per-member timer (the cron is set to once a year), seconds after the deadline.
 */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(1)
class FastExpiryIT {

  static WorkerHarness harness;

  @BeforeAll
  static void start() {
    harness =
        new WorkerHarness(
            Path.of("src/test/resources/fast-buckets"), Path.of("src/test/resources/no-journeys"));
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    WorkerHarness.await(condition, Duration.ofSeconds(30), what);
  }

  static void send(String user, String event, String props) throws Exception {
    ObjectNode e = Json.MAPPER.createObjectNode();
    e.put("userId", user).put("event", event);
    if (props != null) e.set("properties", Json.MAPPER.readTree(props));
    harness.ingestClient().send(e);
  }

  List<String> transitions(String bucket, String user) {
    var t = BUCKET_TRANSITIONS;
    return harness
        .dsl()
        .select(t.KIND, t.EPOCH, t.SOURCE)
        .from(t)
        .where(t.BUCKET_ID.eq(bucket).and(t.USER_ID.eq(user)))
        .orderBy(t.ID)
        .fetch()
        .map(r -> r.value1() + ":" + r.value2() + ":" + r.value3());
  }

  Instant transitionAt(String bucket, String user, String kind, int epoch) {
    var t = BUCKET_TRANSITIONS;
    return harness
        .dsl()
        .select(t.CREATED_AT)
        .from(t)
        .where(
            t.BUCKET_ID
                .eq(bucket)
                .and(t.USER_ID.eq(user))
                .and(t.KIND.eq(TransitionKind.fromDb(kind)))
                .and(t.EPOCH.eq(epoch)))
        .fetchOne(t.CREATED_AT);
  }

  @Test
  void memberLeavesSecondsAfterItsDeadlineWithNoCronTick() throws Exception {
    send("fx-1", "ping", null);
    await(() -> transitions("fast-ping", "fx-1").size() == 1, "join");
    Instant entered = transitionAt("fast-ping", "fx-1", "entered", 1);
    Instant deadline =
        harness
            .dsl()
            .select(BUCKET_MEMBERSHIPS.EXPIRES_AT)
            .from(BUCKET_MEMBERSHIPS)
            .where(BUCKET_MEMBERSHIPS.USER_ID.eq("fx-1"))
            .fetchOne(BUCKET_MEMBERSHIPS.EXPIRES_AT);
    // The watch is there, named by bucket, user and epoch, and sleeps toward the row's deadline.
    ExpiryWorkflow watch =
        harness
            .worker
            .client()
            .newWorkflowStub(
                ExpiryWorkflow.class, ExpiryWorkflow.workflowId("fast-ping", "fx-1", 1));
    // The watch is armed by the outbox dispatch that follows the join's commit, not inside it.
    await(
        () -> {
          try {
            return watch.deadline() != null;
          } catch (io.temporal.client.WorkflowNotFoundException e) {
            return false;
          }
        },
        "watch armed");
    assertThat(Instant.parse(watch.deadline()))
        .isEqualTo(deadline.truncatedTo(java.time.temporal.ChronoUnit.MILLIS));

    await(() -> transitions("fast-ping", "fx-1").size() == 2, "leave");
    assertThat(transitions("fast-ping", "fx-1"))
        .containsExactly("entered:1:event", "left:1:expiry");
    Instant left = transitionAt("fast-ping", "fx-1", "left", 1);
    assertThat(left).isAfterOrEqualTo(deadline);
    assertThat(Duration.between(deadline, left)).isLessThan(Duration.ofSeconds(5));
    // The window runs from the ping's occurred_at (the join commits a little later): the member
    // stayed its full 3 s, measured where the window starts.
    Instant pinged =
        harness
            .dsl()
            .select(USER_EVENTS.OCCURRED_AT)
            .from(USER_EVENTS)
            .where(USER_EVENTS.USER_ID.eq("fx-1").and(USER_EVENTS.EVENT.eq("ping")))
            .fetchOne(USER_EVENTS.OCCURRED_AT);
    assertThat(Duration.between(pinged, left)).isGreaterThanOrEqualTo(Duration.ofSeconds(3));
    assertThat(entered).isAfterOrEqualTo(pinged);
  }

  @Test
  void anExtendedMemberDoesNotLeaveAtTheOldDeadline() throws Exception {
    send("fx-2", "ping", null);
    await(() -> transitions("fast-ping", "fx-2").size() == 1, "join");
    // Arranging the second event early inside the 3 s window (not waiting on a result): half a
    // second after the first ping's instant, so most of the window is left for it to apply.
    Instant firstPing =
        harness
            .dsl()
            .select(USER_EVENTS.OCCURRED_AT)
            .from(USER_EVENTS)
            .where(USER_EVENTS.USER_ID.eq("fx-2").and(USER_EVENTS.EVENT.eq("ping")))
            .fetchOne(USER_EVENTS.OCCURRED_AT);
    long untilInside = Duration.between(Instant.now(), firstPing.plusMillis(500)).toMillis();
    if (untilInside > 0) Thread.sleep(untilInside);
    send("fx-2", "ping", null);
    await(
        () ->
            harness
                    .dsl()
                    .fetchCount(
                        dev.bucketflow.schema.Tables.USER_EVENTS,
                        dev.bucketflow.schema.Tables.USER_EVENTS
                            .USER_ID
                            .eq("fx-2")
                            .and(dev.bucketflow.schema.Tables.USER_EVENTS.EVENT.eq("ping")))
                == 2,
        "second ping stored");
    Instant secondPing =
        harness
            .dsl()
            .select(dev.bucketflow.schema.Tables.USER_EVENTS.OCCURRED_AT.max())
            .from(dev.bucketflow.schema.Tables.USER_EVENTS)
            .where(dev.bucketflow.schema.Tables.USER_EVENTS.USER_ID.eq("fx-2"))
            .fetchOne()
            .value1();

    await(() -> transitions("fast-ping", "fx-2").size() == 2, "leave");
    Instant left = transitionAt("fast-ping", "fx-2", "left", 1);
    assertThat(left).isAfterOrEqualTo(secondPing.plusSeconds(3));
  }

  @Test
  void aStaleTimerAfterARealTimeLeaveAndRejoinDoesNothing() throws Exception {
    send("fx-3", "gping", null);
    await(() -> transitions("fast-gated", "fx-3").size() == 1, "first join");
    send("fx-3", "block", "{\"blocked\":true}");
    await(() -> transitions("fast-gated", "fx-3").size() == 2, "real-time leave");
    send("fx-3", "gping", "{\"blocked\":false}");
    await(() -> transitions("fast-gated", "fx-3").size() == 3, "re-join");
    Instant rejoined = transitionAt("fast-gated", "fx-3", "entered", 2);

    await(() -> transitions("fast-gated", "fx-3").size() == 4, "leave of the second epoch");
    assertThat(transitions("fast-gated", "fx-3"))
        .containsExactly("entered:1:event", "left:1:event", "entered:2:event", "left:2:expiry");
    // Epoch 1's watch fired in between and did nothing: epoch 2 lasted its full window, measured
    // where the window starts (the re-joining gping's occurred_at; the join commits a little
    // later).
    Instant regpinged =
        harness
            .dsl()
            .select(USER_EVENTS.OCCURRED_AT.max())
            .from(USER_EVENTS)
            .where(USER_EVENTS.USER_ID.eq("fx-3").and(USER_EVENTS.EVENT.eq("gping")))
            .fetchOne()
            .value1();
    assertThat(rejoined).isAfterOrEqualTo(regpinged);
    assertThat(transitionAt("fast-gated", "fx-3", "left", 2))
        .isAfterOrEqualTo(regpinged.plusSeconds(3));
  }

  /**
   * The deadline moves earlier: joined with 60 s to go, the member stops matching inside its 6 s
   * minDwell, so ingest re-stamps {@code expires_at} to {@code entered_at + 6 s}. The ingest
   * activity signals the watch after its commit; the watch wakes then, not at the 60 s it was armed
   * for, and the member leaves by expiry (the cron runs once a year).
   */
  @Test
  void aDeadlineMovedEarlierByAnEventIsFollowedWithinSeconds() throws Exception {
    send("fx-4", "dping", null);
    await(() -> transitions("fast-dwell", "fx-4").size() == 1, "join");
    var m = BUCKET_MEMBERSHIPS;
    Instant entered =
        harness
            .dsl()
            .select(m.ENTERED_AT)
            .from(m)
            .where(m.BUCKET_ID.eq("fast-dwell").and(m.USER_ID.eq("fx-4")))
            .fetchOne(m.ENTERED_AT);
    Instant armedFor =
        harness
            .dsl()
            .select(m.EXPIRES_AT)
            .from(m)
            .where(m.BUCKET_ID.eq("fast-dwell").and(m.USER_ID.eq("fx-4")))
            .fetchOne(m.EXPIRES_AT);
    assertThat(Duration.between(entered, armedFor)).isGreaterThan(Duration.ofSeconds(50));
    ExpiryWorkflow watch =
        harness
            .worker
            .client()
            .newWorkflowStub(
                ExpiryWorkflow.class, ExpiryWorkflow.workflowId("fast-dwell", "fx-4", 1));
    await(
        () -> {
          try {
            return Instant.parse(watch.deadline())
                .equals(armedFor.truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
          } catch (io.temporal.client.WorkflowNotFoundException e) {
            return false;
          }
        },
        "watch armed toward the 60 s deadline");

    send("fx-4", "dblock", "{\"blocked\":true}");
    Instant dwellEnds = entered.plusSeconds(6);
    await(() -> transitions("fast-dwell", "fx-4").size() == 2, "leave at the earlier deadline");
    assertThat(transitions("fast-dwell", "fx-4"))
        .as("deferred by minDwell, then left by the watch")
        .containsExactly("entered:1:event", "left:1:expiry");
    Instant left = transitionAt("fast-dwell", "fx-4", "left", 1);
    assertThat(left).isAfterOrEqualTo(dwellEnds.minusMillis(50));
    assertThat(Duration.between(dwellEnds, left)).isLessThan(Duration.ofSeconds(5));
    assertThat(left).isBefore(armedFor);
  }

  /**
   * Issue 12's clock join: a trial ending 12 s from now enters {@code within_next 6 s} 6 s from now
   * with no event (the only event set the date), and leaves when the trial ends. Both by the one
   * watch of epoch 1 (the cron runs once a year), each within seconds of its instant (5 s: generous
   * for a loaded CI machine).
   */
  @Test
  void aDateConditionJoinsAndLeavesByTheWatchWithinSecondsOfEachInstant() throws Exception {
    Instant trialEnds =
        Instant.now().plusSeconds(12).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    Instant turnsTrue = trialEnds.minusSeconds(6);
    send("fx-5", "signup", "{\"trial_ends_at\":\"" + trialEnds + "\"}");
    ExpiryWorkflow watch =
        harness
            .worker
            .client()
            .newWorkflowStub(
                ExpiryWorkflow.class, ExpiryWorkflow.workflowId("fast-trial", "fx-5", 1));
    await(
        () -> {
          try {
            return Instant.parse(watch.deadline()).equals(turnsTrue);
          } catch (io.temporal.client.WorkflowNotFoundException e) {
            return false;
          }
        },
        "join watch armed toward the instant the window reaches the trial's end");
    assertThat(transitions("fast-trial", "fx-5")).as("not a member before the instant").isEmpty();

    WorkerHarness.await(
        () -> transitions("fast-trial", "fx-5").size() == 1, Duration.ofSeconds(25), "clock join");
    Instant joined = transitionAt("fast-trial", "fx-5", "entered", 1);
    assertThat(joined).isAfterOrEqualTo(turnsTrue);
    assertThat(Duration.between(turnsTrue, joined)).isLessThan(Duration.ofSeconds(5));

    WorkerHarness.await(
        () -> transitions("fast-trial", "fx-5").size() == 2, Duration.ofSeconds(25), "clock leave");
    assertThat(transitions("fast-trial", "fx-5"))
        .containsExactly("entered:1:expiry", "left:1:expiry");
    Instant left = transitionAt("fast-trial", "fx-5", "left", 1);
    assertThat(left).isAfter(trialEnds);
    assertThat(Duration.between(trialEnds, left)).isLessThan(Duration.ofSeconds(5));
    assertThat(
            harness
                .dsl()
                .select(USER_EVENTS.EVENT)
                .from(USER_EVENTS)
                .where(USER_EVENTS.USER_ID.eq("fx-5"))
                .orderBy(USER_EVENTS.ID)
                .fetch(USER_EVENTS.EVENT))
        .as("no event but the signup; the transitions' own events follow them")
        .containsExactly("signup", "bucket:entered:fast-trial", "bucket:left:fast-trial");
  }
}
