package dev.bucketflow.posthog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.db.Json;
import dev.bucketflow.dispatch.OutboxRow;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PostHogSyncTest {

  static final String KEY = "phc_test_key";
  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final Duration WAIT = Duration.ofSeconds(10);

  static final BucketDefinition TRIAL = BucketDefinition.builder("trial").manual().syncToPostHog(true).build();
  static final BucketDefinition VIP = BucketDefinition.builder("vip").manual().syncToPostHog(true)
      .postHogPropertyKey("is_vip").build();
  static final BucketDefinition QUIET = BucketDefinition.builder("quiet").manual().build();

  static TestDatabase db;
  static BucketCatalog catalog;

  RecordingPostHog posthog;
  PostHogSync sync;
  final AtomicLong ids = new AtomicLong();

  @BeforeAll
  static void startDb() {
    db = TestDatabase.fresh();
    catalog = Engines.catalog(db.dsl(), List.of(TRIAL, VIP, QUIET));
  }

  @AfterAll
  static void stopDb() {
    db.close();
  }

  @BeforeEach
  void startServer() throws Exception {
    posthog = new RecordingPostHog();
  }

  @AfterEach
  void stop() {
    if (sync != null) sync.close(Duration.ofSeconds(1));
    posthog.close();
  }

  PostHogSettings settings(int maxAttempts, Duration backoff) {
    return new PostHogSettings(KEY, posthog.uri(), Duration.ofSeconds(5), maxAttempts, backoff);
  }

  PostHogSync sync(int maxAttempts, Duration backoff) {
    sync = new PostHogSync(catalog, settings(maxAttempts, backoff));
    return sync;
  }

  OutboxRow entered(String bucket, String user, int epoch) {
    return new OutboxRow(ids.incrementAndGet(), bucket, user, "entered", epoch, "event", true, T0.plusSeconds(epoch));
  }

  OutboxRow left(String bucket, String user, int epoch) {
    return new OutboxRow(ids.incrementAndGet(), bucket, user, "left", epoch, "event", true, T0.plusSeconds(epoch));
  }

  @Test
  void aJoinSetsTheDefaultKeyToTrueOnTheUser() {
    sync(3, Duration.ofMillis(5)).deliver(entered("trial", "u1", 1));

    assertThat(sync.awaitIdle(WAIT)).isTrue();
    assertThat(posthog.requests()).singleElement().satisfies(r -> {
      assertThat(r.method()).isEqualTo("POST");
      assertThat(r.path()).isEqualTo("/i/v0/e/");
      assertThat(r.contentType()).startsWith("application/json");
      assertThat(r.body().path("api_key").asText()).isEqualTo(KEY);
      assertThat(r.event()).isEqualTo("$set");
      assertThat(r.distinctId()).isEqualTo("u1");
      assertThat(r.set()).isEqualTo(Json.MAPPER.createObjectNode().put("hogsend_bucket_trial", true));
      assertThat(r.unset()).isNull();
      assertThat(r.body().path("timestamp").asText()).isEqualTo(T0.plusSeconds(1).toString());
    });
  }

  @Test
  void aJoinUsesTheBucketsCustomPropertyKey() {
    sync(3, Duration.ofMillis(5)).deliver(entered("vip", "u7", 1));

    assertThat(sync.awaitIdle(WAIT)).isTrue();
    assertThat(posthog.requests()).singleElement().satisfies(r -> {
      assertThat(r.distinctId()).isEqualTo("u7");
      assertThat(r.set()).isEqualTo(Json.MAPPER.createObjectNode().put("is_vip", true));
    });
  }

  @Test
  void aLeaveUnsetsTheKey() {
    sync(3, Duration.ofMillis(5));
    sync.deliver(entered("trial", "u1", 1));
    assertThat(sync.awaitIdle(WAIT)).isTrue();
    sync.deliver(left("trial", "u1", 1));
    assertThat(sync.awaitIdle(WAIT)).isTrue();

    assertThat(posthog.requests()).hasSize(2);
    RecordingPostHog.Request leave = posthog.requests().get(1);
    assertThat(leave.path()).isEqualTo("/i/v0/e/");
    assertThat(leave.distinctId()).isEqualTo("u1");
    assertThat(leave.unset()).isEqualTo(Json.MAPPER.createArrayNode().add("hogsend_bucket_trial"));
    assertThat(leave.set()).isNull();
  }

  @Test
  void aSuppressedJoinStillMirrorsMembership() {
    sync(3, Duration.ofMillis(5));
    sync.deliver(new OutboxRow(ids.incrementAndGet(), "trial", "u1", "entered", 2, "event", false, T0));

    assertThat(sync.awaitIdle(WAIT)).isTrue();
    assertThat(posthog.requests()).singleElement()
        .satisfies(r -> assertThat(r.set().path("hogsend_bucket_trial").asBoolean()).isTrue());
  }

  @Test
  void withoutAnApiKeyNothingIsSentAndNothingRuns() throws Exception {
    for (String key : new String[] {null, "", "  "}) {
      PostHogSync off = new PostHogSync(catalog,
          new PostHogSettings(key, posthog.uri(), Duration.ofSeconds(5), 3, Duration.ofMillis(5)));
      off.deliver(entered("trial", "u1", 1));
      off.deliver(left("trial", "u1", 1));
      assertThat(off.enabled()).isFalse();
      assertThat(off.pending()).isZero();
      assertThat(off.awaitIdle(Duration.ZERO)).isTrue();
      off.close();
    }
    PostHogSync fromEnv = new PostHogSync(catalog, PostHogSettings.fromEnv(java.util.Map.of()));
    fromEnv.deliver(entered("trial", "u2", 1));
    assertThat(fromEnv.enabled()).isFalse();

    Thread.sleep(200);
    assertThat(posthog.requests()).isEmpty();
  }

  @Test
  void bucketsWithoutSyncToPostHogOrUnknownAreNotSent() throws Exception {
    sync(3, Duration.ofMillis(5));
    sync.deliver(entered("quiet", "u1", 1));
    sync.deliver(left("quiet", "u1", 1));
    assertThatCode(() -> sync.deliver(entered("no-such-bucket", "u1", 1))).doesNotThrowAnyException();

    assertThat(sync.pending()).isZero();
    assertThat(sync.awaitIdle(WAIT)).isTrue();
    Thread.sleep(200);
    assertThat(posthog.requests()).isEmpty();
  }

  @Test
  void serverErrorsAreRetriedInTheBackgroundUntilDelivered() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    posthog.answer(r -> {
      if (r.index() == 0) release.await(WAIT.toMillis(), TimeUnit.MILLISECONDS); // hold the first attempt
      return r.index() < 2 ? 500 : 200;
    });
    sync(5, Duration.ofMillis(20));

    long started = System.nanoTime();
    sync.deliver(entered("trial", "u1", 1));
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    // deliver returned while PostHog had not answered anything: it does not wait for the network
    assertThat(posthog.answered()).isZero();
    assertThat(sync.pending()).isEqualTo(1);
    // the client timeout is 5 s and PostHog holds the request for up to 10 s: a deliver that waited
    // on the network would take seconds
    assertThat(tookMs).isLessThan(1000);
    release.countDown();

    assertThat(sync.awaitIdle(WAIT)).isTrue();
    List<RecordingPostHog.Request> requests = posthog.requests();
    assertThat(requests).hasSize(3);
    assertThat(requests).allSatisfy(r -> {
      assertThat(r.distinctId()).isEqualTo("u1");
      assertThat(r.set().path("hogsend_bucket_trial").asBoolean()).isTrue();
    });
    assertThat(requests.get(0).body()).isEqualTo(requests.get(2).body());
  }

  @Test
  void aServerThatAlwaysFailsIsGivenUpOnAfterMaxAttemptsWithoutThrowing() throws Exception {
    posthog.answer(r -> 503);
    sync(4, Duration.ofMillis(5));

    assertThatCode(() -> sync.deliver(entered("trial", "u1", 1))).doesNotThrowAnyException();
    assertThat(sync.awaitIdle(WAIT)).isTrue();
    Thread.sleep(100);
    assertThat(posthog.requests()).hasSize(4);
    assertThat(sync.pending()).isZero();
  }

  @Test
  void anUnreachableHostIsAFailureToo() {
    PostHogSettings unreachable = new PostHogSettings(KEY, posthog.uri(), Duration.ofSeconds(2), 2,
        Duration.ofMillis(5));
    posthog.close(); // nothing listens on that port any more
    sync = new PostHogSync(catalog, unreachable);

    assertThatCode(() -> sync.deliver(entered("trial", "u1", 1))).doesNotThrowAnyException();
    assertThat(sync.awaitIdle(WAIT)).isTrue();
    assertThat(sync.pending()).isZero();
  }

  @Test
  void aLeaveDuringAnInFlightJoinIsSentAfterItAndOlderRedeliveriesAreIgnored() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    posthog.answer(r -> {
      if (r.index() == 0) release.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      return 200;
    });
    sync(3, Duration.ofMillis(5));
    OutboxRow join = entered("trial", "u1", 1);
    OutboxRow leave = left("trial", "u1", 1);

    sync.deliver(join);
    waitForRequests(1);
    sync.deliver(leave); // arrives while the join is still in flight
    release.countDown();
    assertThat(sync.awaitIdle(WAIT)).isTrue();

    // at-least-once dispatch: the join (an older state) and the leave come again
    sync.deliver(join);
    sync.deliver(leave);
    assertThat(sync.awaitIdle(WAIT)).isTrue();
    Thread.sleep(100);

    assertThat(posthog.requests()).extracting(r -> r.set() != null ? "set" : "unset")
        .containsExactly("set", "unset");
  }

  @Test
  void aNewerTransitionReplacesAFailingOneInsteadOfRetryingIt() throws Exception {
    posthog.answer(r -> r.set() != null ? 500 : 200); // joins fail, leaves succeed
    sync(5, Duration.ofMillis(300));

    sync.deliver(entered("trial", "u1", 1));
    assertThat(posthog.awaitAnswered(1, WAIT)).isTrue();
    sync.deliver(left("trial", "u1", 1)); // while the join waits for its retry
    assertThat(sync.awaitIdle(WAIT)).isTrue();
    Thread.sleep(400);

    assertThat(posthog.requests()).extracting(r -> r.set() != null ? "set" : "unset")
        .containsExactly("set", "unset");
  }

  @Test
  void aRejoinAfterALeaveSetsTheKeyAgain() {
    sync(3, Duration.ofMillis(5));
    sync.deliver(entered("trial", "u1", 1));
    sync.deliver(left("trial", "u1", 1));
    assertThat(sync.awaitIdle(WAIT)).isTrue();
    sync.deliver(entered("trial", "u1", 2));
    assertThat(sync.awaitIdle(WAIT)).isTrue();

    List<RecordingPostHog.Request> requests = posthog.requests();
    assertThat(requests.get(requests.size() - 1).set().path("hogsend_bucket_trial").asBoolean()).isTrue();
  }

  @Test
  void usersAndBucketsAreMirroredIndependently() {
    sync(3, Duration.ofMillis(5));
    for (int u = 0; u < 20; u++) {
      sync.deliver(entered("trial", "u" + u, 1));
      sync.deliver(entered("vip", "u" + u, 1));
    }
    assertThat(sync.awaitIdle(WAIT)).isTrue();

    assertThat(posthog.requests()).hasSize(40);
    assertThat(posthog.requests()).filteredOn(r -> r.set().has("is_vip")).hasSize(20);
  }

  @Test
  void closeDrainsPendingRequestsThenIgnoresNewOnes() throws Exception {
    posthog.answer(r -> {
      Thread.sleep(100);
      return 200;
    });
    sync(3, Duration.ofMillis(5));
    sync.deliver(entered("trial", "u1", 1));

    assertThat(sync.close(WAIT)).isTrue();
    assertThat(posthog.requests()).hasSize(1);
    assertThatCode(() -> sync.deliver(entered("trial", "u2", 1))).doesNotThrowAnyException();
    Thread.sleep(100);
    assertThat(posthog.requests()).hasSize(1);
  }

  void waitForRequests(int n) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (posthog.requests().size() < n && System.nanoTime() < deadline) Thread.sleep(2);
    assertThat(posthog.requests()).hasSizeGreaterThanOrEqualTo(n);
  }
}
