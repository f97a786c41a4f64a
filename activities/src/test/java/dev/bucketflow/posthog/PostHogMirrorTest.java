package dev.bucketflow.posthog;

import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.POSTHOG_MIRROR;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.dispatch.DeliverySettings;
import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.dispatch.TransitionStream;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.shard.Shards;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import dev.bucketflow.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The durable PostHog mirror against real PostgreSQL and a local HTTP stand-in for PostHog: an
 * outage with a restart in the middle loses nothing, and only newest states are sent.
 */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(4)
class PostHogMirrorTest {

  // Its own database, not DatabaseTest's: this long class then runs beside DatabaseTest's
  // subclasses (which take turns on that base's one database) instead of in their queue.
  @AutoClose static final TestDatabase db = TestDatabase.fresh();
  static final DSLContext dsl = db.dsl();

  static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
  static final int SHARDS = 8;
  static final List<BucketDefinition> BUCKETS =
      List.of(
          BucketDefinition.builder("trial")
              .criteria(prop("plan").eq("trial"))
              .syncToPostHog(true)
              .build(),
          BucketDefinition.builder("vip")
              .criteria(prop("vip").eq(true))
              .syncToPostHog(true)
              .build(),
          BucketDefinition.builder("quiet").criteria(prop("plan").eq("x")).build());
  static final DeliverySettings RETRIES =
      DeliverySettings.DEFAULTS.withRetries(25, Duration.ofSeconds(1), Duration.ofSeconds(20));

  final MutableClock clock = new MutableClock(T0);
  final AtomicBoolean down = new AtomicBoolean();

  /** Requests PostHog acknowledged, in order: "user/property=set|unset". */
  final List<String> acknowledged = new CopyOnWriteArrayList<>();

  RecordingPostHog posthog;
  BucketCatalog catalog;

  @BeforeEach
  void start() throws Exception {
    dsl.execute("TRUNCATE bucket_transitions, posthog_mirror, delivery_leases");
    posthog = new RecordingPostHog();
    posthog.answer(
        r -> {
          if (down.get()) return 503;
          String what =
              r.set() != null
                  ? r.set().fieldNames().next() + "=set"
                  : r.unset().get(0).asText() + "=unset";
          acknowledged.add(r.distinctId() + "/" + what);
          return 200;
        });
    catalog = Engines.catalog(dsl, BUCKETS);
  }

  @AfterEach
  void stop() {
    posthog.close();
  }

  /** A worker's delivery parts, built afresh: nothing survives a "restart" but the database. */
  OutboxDispatcher worker() {
    PostHogSettings settings =
        new PostHogSettings(
            "phc_test", posthog.uri(), Duration.ofSeconds(2), 1, Duration.ofSeconds(1));
    PostHogMirror mirror = new PostHogMirror(dsl, catalog, settings, RETRIES, clock, SHARDS);
    return new OutboxDispatcher(
        dsl, List.of(new TransitionStream(List.of(mirror))), List.of(mirror), RETRIES, clock);
  }

  void passOverEveryShard(OutboxDispatcher d) {
    for (int shard = 0; shard < SHARDS; shard++) d.deliver(shard, SHARDS, () -> {});
  }

  void transition(String user, String bucket, String kind, int epoch) {
    dsl.insertInto(
            BUCKET_TRANSITIONS,
            BUCKET_TRANSITIONS.BUCKET_ID,
            BUCKET_TRANSITIONS.USER_ID,
            BUCKET_TRANSITIONS.KIND,
            BUCKET_TRANSITIONS.EPOCH,
            BUCKET_TRANSITIONS.SOURCE,
            BUCKET_TRANSITIONS.EMITTED,
            BUCKET_TRANSITIONS.CREATED_AT,
            BUCKET_TRANSITIONS.SHARD,
            BUCKET_TRANSITIONS.REASON)
        .values(
            bucket,
            user,
            TransitionKind.fromDb(kind),
            epoch,
            MembershipSource.EVENT,
            true,
            clock.instant(),
            Shards.shardOf(user, SHARDS),
            kind.equals("left") ? LeaveReason.CRITERIA : null)
        .execute();
  }

  @Test
  void aNinetySecondOutageWithARestartEndsWithTheNewestStateOfEveryPairSentOnce() {
    Random random = new Random(42);
    Map<String, Integer> epochs = new HashMap<>(); // pair -> current entry count
    Map<String, Boolean> member = new HashMap<>();
    List<String> pairs = new ArrayList<>();
    for (int u = 0; u < 40; u++) {
      for (String b : List.of("trial", "vip")) pairs.add("user-" + u + "/" + b);
    }
    OutboxDispatcher worker = worker();
    down.set(true);
    int written = 0;
    int requestsDuringOutage = 0;
    for (int second = 0; second < 90; second += 3) {
      // 200 transitions arrive during the outage, 20 at a time in 10 of the 30 steps.
      for (int i = 0; i < 20 && written < 200 && second % 9 == 0; i++, written++) {
        String pair = pairs.get(random.nextInt(pairs.size()));
        String user = pair.substring(0, pair.indexOf('/'));
        String bucket = pair.substring(pair.indexOf('/') + 1);
        boolean in = member.getOrDefault(pair, false);
        if (in) {
          transition(user, bucket, "left", epochs.get(pair));
        } else {
          epochs.merge(pair, 1, Integer::sum);
          transition(user, bucket, "entered", epochs.get(pair));
        }
        member.put(pair, !in);
      }
      if (second == 45) worker = worker(); // the worker restarts mid-outage
      int before = posthog.requests().size();
      passOverEveryShard(worker);
      requestsDuringOutage += posthog.requests().size() - before;
      clock.advance(Duration.ofSeconds(3));
    }
    assertThat(written).isEqualTo(200);
    assertThat(acknowledged).isEmpty();
    // Backing off as one: at most one probe per shard and pass, not one request per pending state.
    assertThat(requestsDuringOutage).isLessThanOrEqualTo(30 * SHARDS);

    down.set(false);
    for (int i = 0; i < 10 && pendingStates() > 0; i++) {
      clock.advance(RETRIES.maxBackoff());
      passOverEveryShard(worker);
    }
    assertThat(pendingStates()).isZero();

    Map<String, String> finalState = new HashMap<>();
    Map<String, Integer> sends = new HashMap<>();
    for (String ack : acknowledged) {
      String user = ack.substring(0, ack.indexOf('/'));
      String property = ack.substring(ack.indexOf('/') + 1, ack.indexOf('='));
      String pair = user + "/" + property.substring("hogsend_bucket_".length());
      finalState.put(pair, ack.substring(ack.indexOf('=') + 1));
      sends.merge(pair, 1, Integer::sum);
    }
    for (Map.Entry<String, Boolean> e : member.entrySet()) {
      assertThat(finalState.get(e.getKey()))
          .as(e.getKey())
          .isEqualTo(e.getValue() ? "set" : "unset");
    }
    assertThat(finalState.keySet()).isEqualTo(member.keySet());
    // Only the newest state of each pair was ever sent successfully: one request per pair.
    assertThat(sends.values()).containsOnly(1);
  }

  @Test
  void
      aStateSupersededWhileWaitingIsSentInItsNewestFormAndAnOlderRowDeliveredAgainChangesNothing() {
    OutboxDispatcher worker = worker();
    down.set(true);
    transition("u1", "trial", "entered", 1);
    passOverEveryShard(worker);
    transition("u1", "trial", "left", 1);
    passOverEveryShard(worker);
    // The join delivered again (at-least-once) after the leave: the mirror keeps the leave.
    dsl.update(BUCKET_TRANSITIONS)
        .setNull(BUCKET_TRANSITIONS.DISPATCHED_AT)
        .where(BUCKET_TRANSITIONS.KIND.eq(TransitionKind.ENTERED))
        .execute();
    passOverEveryShard(worker);
    down.set(false);
    clock.advance(Duration.ofMinutes(5));
    passOverEveryShard(worker);
    assertThat(acknowledged).containsExactly("u1/hogsend_bucket_trial=unset");
    // The $unset event says why the member left.
    assertThat(posthog.requests())
        .last()
        .satisfies(
            r ->
                assertThat(r.body().path("properties").path("reason").asText())
                    .isEqualTo("criteria"));
    var row = dsl.selectFrom(POSTHOG_MIRROR).fetchOne();
    assertThat(row.getVersion()).isEqualTo(3L);
    assertThat(row.getSentVersion()).isEqualTo(3L);
  }

  @Test
  void aBucketNotMirroredAndAMirrorWithoutKeySendNothing() throws Exception {
    transition("u1", "quiet", "entered", 1);
    passOverEveryShard(worker());
    PostHogMirror off = PostHogMirror.disabled(dsl, catalog);
    transition("u2", "trial", "entered", 1);
    new OutboxDispatcher(
            dsl, List.of(new TransitionStream(List.of(off))), List.of(off), RETRIES, clock)
        .drain();
    assertThat(posthog.requests()).isEmpty();
    assertThat(dsl.fetchCount(POSTHOG_MIRROR)).isZero();
  }

  int pendingStates() {
    return dsl.fetchCount(
        POSTHOG_MIRROR, POSTHOG_MIRROR.SENT_VERSION.isDistinctFrom(POSTHOG_MIRROR.VERSION));
  }
}
