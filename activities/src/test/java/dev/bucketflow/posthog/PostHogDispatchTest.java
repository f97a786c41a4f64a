package dev.bucketflow.posthog;

import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.dispatch.OutboxRow;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import dev.bucketflow.testing.DatabaseTest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The mirror wired into the outbox dispatcher: PostHog failing never touches membership or dispatch. */
class PostHogDispatchTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final Duration WAIT = Duration.ofSeconds(10);
  static final BucketDefinition TRIAL = BucketDefinition.builder("trial")
      .criteria(prop("plan").eq("trial")).syncToPostHog(true).build();


  MutableClock clock;
  IngestService ingest;
  RecordingPostHog posthog;
  PostHogSync sync;
  OutboxDispatcher dispatcher;
  final List<OutboxRow> otherTarget = new CopyOnWriteArrayList<>();

  @BeforeEach
  void wire() throws Exception {
    dsl.execute("TRUNCATE user_events, contacts, rejected_events, ingest_batches, bucket_memberships, "
        + "bucket_transitions, bucket_configs");
    clock = new MutableClock(T0);
    MembershipEngine engine = Engines.engine(dsl, List.of(TRIAL));
    ingest = new IngestService(dsl, engine, clock);
    posthog = new RecordingPostHog();
    sync = new PostHogSync(Engines.catalog(dsl, List.of(TRIAL)),
        new PostHogSettings("phc_test", posthog.uri(), Duration.ofSeconds(5), 4, Duration.ofMillis(20)));
    dispatcher = new OutboxDispatcher(dsl, List.of(sync, otherTarget::add), null, clock);
  }

  @AfterEach
  void stop() {
    sync.close(Duration.ofSeconds(1));
    posthog.close();
  }

  @Test
  void a500IsRetriedWhileMembershipAndTheOtherTargetsAreUnaffected() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    posthog.answer(r -> {
      if (r.index() == 0) release.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      return r.index() == 0 ? 500 : 200;
    });

    ingest.apply(batch(clock.instant(), event("u1", "signup", "{\"plan\":\"trial\"}")));
    int dispatched = dispatcher.drain(); // PostHog is still holding its first answer

    assertThat(dispatched).isEqualTo(1);
    assertThat(posthog.answered()).isZero();
    assertThat(otherTarget).extracting(OutboxRow::userId, OutboxRow::kind).containsExactly(
        org.assertj.core.groups.Tuple.tuple("u1", "entered"));
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS, BUCKET_TRANSITIONS.DISPATCHED_AT.isNull())).isZero();
    assertThat(dsl.fetchCount(BUCKET_MEMBERSHIPS, BUCKET_MEMBERSHIPS.USER_ID.eq("u1")
        .and(BUCKET_MEMBERSHIPS.BUCKET_ID.eq("trial")).and(BUCKET_MEMBERSHIPS.STATUS.eq("active")))).isEqualTo(1);

    release.countDown();
    assertThat(sync.awaitIdle(WAIT)).isTrue();
    assertThat(posthog.requests()).hasSize(2).allSatisfy(r -> {
      assertThat(r.distinctId()).isEqualTo("u1");
      assertThat(r.set().path("hogsend_bucket_trial").asBoolean()).isTrue();
    });
  }

  @Test
  void aDeadPostHogNeverLeavesRowsUndispatched() {
    posthog.answer(r -> 500);

    ingest.apply(batch(clock.instant(), event("u1", "signup", "{\"plan\":\"trial\"}")));
    ingest.apply(batch(clock.instant(), event("u1", "upgrade", "{\"plan\":\"pro\"}")));
    assertThat(dispatcher.drain()).isEqualTo(2);
    assertThat(sync.awaitIdle(WAIT)).isTrue();

    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS, BUCKET_TRANSITIONS.DISPATCHED_AT.isNull())).isZero();
    assertThat(otherTarget).extracting(OutboxRow::kind).containsExactly("entered", "left");
    assertThat(dispatcher.drain()).isZero(); // nothing to re-dispatch: the mirror never failed a row
    assertThat(posthog.requests()).isNotEmpty()
        .allSatisfy(r -> assertThat(r.distinctId()).isEqualTo("u1"));
    // the newest state (the leave) was the last thing attempted
    List<RecordingPostHog.Request> requests = posthog.requests();
    assertThat(requests.get(requests.size() - 1).unset()).isNotNull();
  }
}
