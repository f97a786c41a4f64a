package dev.bucketflow.expiry;

import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
import dev.bucketflow.membership.MovedDeadline;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Clock joins of {@code fastExpiry} buckets (issue 12): ingest arms the next epoch's watch at the
 * join instant, the watch joins at it and then watches the leave, and a leave by the clock arms the
 * next epoch's watch when the criteria will hold again.
 */
class ExpiryJoinWatchTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final BucketDefinition TRIAL =
      BucketDefinition.builder("trial-ending")
          .criteria(prop("trial_ends_at").withinNext(Duration.ofDays(3)))
          .fastExpiry(true)
          .build();

  /** Same criteria, no fastExpiry: joins wait for the reconcile tick, no watch. */
  static final BucketDefinition SLOW =
      BucketDefinition.builder("trial-ending-slow")
          .criteria(prop("trial_ends_at").withinNext(Duration.ofDays(3)))
          .build();

  /** Either date within 3 days: after the trial's window, the renewal's opens later. */
  static final BucketDefinition EITHER =
      BucketDefinition.builder("either-ending")
          .criteria(
              dev.bucketflow.bucket.Criteria.any(
                  prop("trial_ends_at").withinNext(Duration.ofDays(3)),
                  prop("renews_at").withinNext(Duration.ofDays(3))))
          .fastExpiry(true)
          .build();

  /**
   * Clock joins plus a dwell event one day in: the joined member's watch sleeps toward the dwell
   * first.
   */
  static final BucketDefinition TRIAL_DWELL =
      BucketDefinition.builder("trial-ending-dwell")
          .criteria(prop("trial_ends_at").withinNext(Duration.ofDays(3)))
          .dwell(Duration.ofDays(1))
          .fastExpiry(true)
          .build();

  MutableClock clock;
  IngestService ingest;
  ExpiryService expiry;

  @BeforeEach
  void reset() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, ingest_batches, bucket_memberships, bucket_transitions, bucket_configs");
    clock = new MutableClock(T0);
    BucketCatalog catalog = Engines.catalog(dsl, List.of(TRIAL, SLOW, EITHER, TRIAL_DWELL));
    EventHistoryLoader history = new EventHistoryLoader();
    ingest =
        new IngestService(
            dsl,
            new MembershipEngine(
                catalog, new MembershipStore(), history, TransitionWriter.withoutGenericEvents()),
            clock);
    expiry =
        new ExpiryService(
            dsl, catalog, new UserStates(history), TransitionWriter.withoutGenericEvents(), clock);
    dsl.update(dev.bucketflow.schema.Tables.BUCKET_CONFIGS)
        .set(dev.bucketflow.schema.Tables.BUCKET_CONFIGS.DWELL_SINCE, T0)
        .execute();
  }

  /**
   * The watches of {@link #TRIAL} the batch arms or moves (EITHER's are asserted where it is the
   * subject).
   */
  List<MovedDeadline> send(String user, String props) {
    return ingest
        .applyWithTransitions(batch(clock.instant(), event(user, "profile", props)))
        .movedDeadlines()
        .stream()
        .filter(d -> d.bucketId().equals(TRIAL.id()))
        .toList();
  }

  ExpiryService.Decision wake(String user, int epoch) {
    return expiry.decide(
        new ExpiryRequest(TRIAL.id(), user, epoch, clock.instant().toEpochMilli()));
  }

  List<String> transitions(String user) {
    var t = BUCKET_TRANSITIONS;
    return dsl.select(t.KIND, t.EPOCH, t.SOURCE)
        .from(t)
        .where(t.BUCKET_ID.eq(TRIAL.id()).and(t.USER_ID.eq(user)))
        .orderBy(t.ID)
        .fetch()
        .map(r -> r.value1() + ":" + r.value2() + ":" + r.value3());
  }

  @Test
  void ingestArmsTheFirstEpochsWatchAtTheJoinInstantOnlyWhenItIsNewOrEarlier() {
    Instant ends = T0.plus(Duration.ofDays(5));
    assertThat(send("u1", "{\"trial_ends_at\":\"" + ends + "\"}"))
        .containsExactly(new MovedDeadline(TRIAL.id(), "u1", 1, ends.minus(Duration.ofDays(3))));
    assertThat(send("u1", "{\"trial_ends_at\":\"" + ends + "\",\"plan\":\"pro\"}"))
        .as("unchanged instant")
        .isEmpty();
    assertThat(send("u1", "{\"trial_ends_at\":\"" + ends.plusSeconds(60) + "\"}"))
        .as("later: the watch wakes early and sleeps on, no signal")
        .isEmpty();
    Instant sooner = ends.minus(Duration.ofDays(1));
    assertThat(send("u1", "{\"trial_ends_at\":\"" + sooner + "\"}"))
        .containsExactly(new MovedDeadline(TRIAL.id(), "u1", 1, sooner.minus(Duration.ofDays(3))));
    assertThat(send("u2", "{\"trial_ends_at\":\"not a date\"}"))
        .as("no instant, no watch")
        .isEmpty();
  }

  @Test
  void theWatchSleepsOnBeforeTheInstantJoinsAtItThenWatchesTheLeave() {
    Instant ends = T0.plus(Duration.ofDays(5));
    Instant turnsTrue = ends.minus(Duration.ofDays(3));
    send("u1", "{\"trial_ends_at\":\"" + ends + "\"}");

    clock.set(turnsTrue.minusMillis(1));
    assertThat(wake("u1", 1).check())
        .as("woke early: sleep on")
        .isEqualTo(ExpiryCheck.extended(turnsTrue.toEpochMilli()));
    assertThat(transitions("u1")).isEmpty();

    clock.set(turnsTrue);
    ExpiryService.Decision joined = wake("u1", 1);
    assertThat(joined.check())
        .as("joined: now watching the leave at the trial's end")
        .isEqualTo(ExpiryCheck.extended(ends.plusNanos(1).toEpochMilli()));
    assertThat(joined.transitioned()).isTrue();
    assertThat(transitions("u1")).containsExactly("entered:1:expiry");
    var m = BUCKET_MEMBERSHIPS;
    assertThat(dsl.fetchCount(m, m.BUCKET_ID.eq(SLOW.id())))
        .as("the slow twin waits for the tick")
        .isZero();

    clock.set(ends.plusMillis(1));
    ExpiryService.Decision left = wake("u1", 1);
    assertThat(left.check()).isEqualTo(ExpiryCheck.left());
    assertThat(left.nextJoinWatch()).as("the date is past: never again").isEmpty();
    assertThat(transitions("u1")).containsExactly("entered:1:expiry", "left:1:expiry");
  }

  @Test
  void staleWatchesEndWithoutWriting() {
    Instant ends = T0.plus(Duration.ofDays(2)); // inside the window at once: joins by the event
    send("u1", "{\"trial_ends_at\":\"" + ends + "\"}");
    assertThat(transitions("u1")).containsExactly("entered:1:event");
    assertThat(wake("u1", 2).check())
        .as("epoch 2 while epoch 1 is active")
        .isEqualTo(ExpiryCheck.gone());
    assertThat(wake("u1", 3).check()).as("an epoch beyond the next").isEqualTo(ExpiryCheck.gone());
    send("u3", "{\"trial_ends_at\":\"" + T0.plus(Duration.ofDays(9)) + "\"}");
    send("u3", "{\"trial_ends_at\":null}");
    assertThat(wake("u3", 1).check())
        .as("the date was removed: no join instant")
        .isEqualTo(ExpiryCheck.gone());
    assertThat(transitions("u3")).isEmpty();
  }

  @Test
  void aLeaveByAnEventArmsTheNextEpochAtTheNewJoinInstant() {
    Instant ends = T0.plus(Duration.ofDays(1));
    send("u1", "{\"trial_ends_at\":\"" + ends + "\"}");
    assertThat(transitions("u1")).containsExactly("entered:1:event");
    Instant renewed = T0.plus(Duration.ofDays(10));
    List<MovedDeadline> moved = send("u1", "{\"trial_ends_at\":\"" + renewed + "\"}");
    assertThat(transitions("u1")).containsExactly("entered:1:event", "left:1:event");
    assertThat(moved)
        .containsExactly(new MovedDeadline(TRIAL.id(), "u1", 2, renewed.minus(Duration.ofDays(3))));
  }

  @Test
  void aLeaveByTheClockArmsTheNextEpochWhenTheCriteriaWillHoldAgain() {
    Instant ends = T0.plus(Duration.ofDays(1));
    Instant renews = T0.plus(Duration.ofDays(10));
    send("u1", "{\"trial_ends_at\":\"" + ends + "\",\"renews_at\":\"" + renews + "\"}");
    var t = BUCKET_TRANSITIONS;
    assertThat(dsl.fetchCount(t, t.BUCKET_ID.eq(EITHER.id()))).isEqualTo(1);
    clock.set(ends.plusMillis(1));
    ExpiryService.Decision left =
        expiry.decide(new ExpiryRequest(EITHER.id(), "u1", 1, clock.instant().toEpochMilli()));
    assertThat(left.check()).isEqualTo(ExpiryCheck.left());
    assertThat(left.transitioned()).isTrue();
    assertThat(left.nextJoinWatch())
        .contains(new MovedDeadline(EITHER.id(), "u1", 2, renews.minus(Duration.ofDays(3))));
  }

  @Test
  void aWatchThatJoinsSleepsTowardTheEpochsFirstDwellEventWhenItComesBeforeTheLeave() {
    Instant ends = T0.plus(Duration.ofDays(5));
    Instant turnsTrue = ends.minus(Duration.ofDays(3));
    send("u1", "{\"trial_ends_at\":\"" + ends + "\"}");
    clock.set(turnsTrue);
    ExpiryService.Decision joined =
        expiry.decide(new ExpiryRequest(TRIAL_DWELL.id(), "u1", 1, turnsTrue.toEpochMilli()));
    assertThat(joined.check())
        .as("the dwell event one day in, not the leave three days in")
        .isEqualTo(ExpiryCheck.extended(turnsTrue.plus(Duration.ofDays(1)).toEpochMilli()));
  }
}
