package dev.bucketflow.reconcile;

import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.expiry.ExpiryCheck;
import dev.bucketflow.expiry.ExpiryRequest;
import dev.bucketflow.expiry.ExpiryService;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
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
 * Dwell events (issue 12 item 4): {@code bucket:dwell:<id>} once per epoch and threshold, by the
 * reconcile tick, or at the exact instant by a fast-expiry watch; never for a member who left
 * first; no burst for members who had stayed long before the dwell list was deployed.
 */
class DwellEventsTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final BucketDefinition PRO =
      BucketDefinition.builder("pro-stay")
          .criteria(prop("plan").eq("pro"))
          .dwell(Duration.ofDays(7), Duration.ofDays(3))
          .build();
  static final BucketDefinition FAST =
      BucketDefinition.builder("pro-stay-fast")
          .criteria(prop("plan").eq("pro"))
          .dwell(Duration.ofDays(3), Duration.ofDays(7))
          .fastExpiry(true)
          .build();

  MutableClock clock;
  IngestService ingest;
  ReconcileService sweeps;
  ExpiryService expiry;

  @BeforeEach
  void reset() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, ingest_batches, bucket_memberships, bucket_transitions, bucket_configs");
    clock = new MutableClock(T0);
    BucketCatalog catalog = Engines.catalog(dsl, List.of(PRO, FAST));
    deployedAt(T0);
    EventHistoryLoader history = new EventHistoryLoader();
    TransitionWriter writer = TransitionWriter.withoutGenericEvents();
    ingest =
        new IngestService(
            dsl, new MembershipEngine(catalog, new MembershipStore(), history, writer), clock);
    sweeps = new ReconcileService(dsl, catalog, new UserStates(history), writer, clock, 2, null);
    expiry = new ExpiryService(dsl, catalog, new UserStates(history), writer, clock);
  }

  void deployedAt(Instant since) {
    dsl.update(BUCKET_CONFIGS).set(BUCKET_CONFIGS.DWELL_SINCE, since).execute();
  }

  void send(String user, String plan) {
    ingest.apply(
        batch(clock.instant(), event(user, "plan.changed", "{\"plan\":\"" + plan + "\"}")));
  }

  void sweep() {
    sweeps.sweep(PRO.id(), p -> {});
  }

  /** Each dwell event of the bucket as {@code user:after:entryCount@occurredAt}. */
  List<String> dwellEvents(String bucketId) {
    var e = USER_EVENTS;
    return dsl.select(e.USER_ID, e.PROPERTIES, e.OCCURRED_AT)
        .from(e)
        .where(e.EVENT.eq("bucket:dwell:" + bucketId))
        .orderBy(e.ID)
        .fetch()
        .map(
            r -> {
              var p = dev.bucketflow.db.Json.object(r.value2());
              assertThat(p.size()).as("exactly after and entryCount").isEqualTo(2);
              return r.value1()
                  + ":"
                  + p.get("after").asText()
                  + ":"
                  + p.get("entryCount").asInt()
                  + "@"
                  + r.value3();
            });
  }

  @Test
  void theTickEmitsEachThresholdOncePerEpochWithItsInstant() {
    send("u1", "pro");
    send("u2", "pro");
    send("u3", "pro");
    clock.set(T0.plus(Duration.ofDays(3)).minusMillis(1));
    sweep();
    assertThat(dwellEvents(PRO.id())).isEmpty();
    clock.set(T0.plus(Duration.ofDays(3)));
    sweep();
    sweep();
    Instant at3 = T0.plus(Duration.ofDays(3));
    assertThat(dwellEvents(PRO.id()))
        .as("chunks of 2 walk all three, once")
        .containsExactly("u1:P3D:1@" + at3, "u2:P3D:1@" + at3, "u3:P3D:1@" + at3);
    clock.set(T0.plus(Duration.ofDays(8)));
    sweep();
    assertThat(dwellEvents(PRO.id()))
        .hasSize(6)
        .endsWith("u3:P7D:1@" + T0.plus(Duration.ofDays(7)));
  }

  @Test
  void aMemberWhoLeftFirstGetsNoneAndANewEpochCountsAfresh() {
    send("u1", "pro");
    clock.set(T0.plus(Duration.ofDays(2)));
    send("u1", "free");
    clock.set(T0.plus(Duration.ofDays(4)));
    send("u1", "pro"); // epoch 2 from day 4
    clock.set(T0.plus(Duration.ofDays(6)));
    sweep();
    assertThat(dwellEvents(PRO.id()))
        .as("epoch 1 left on day 2, epoch 2 has stayed 2 days")
        .isEmpty();
    clock.set(T0.plus(Duration.ofDays(7)));
    sweep();
    assertThat(dwellEvents(PRO.id())).containsExactly("u1:P3D:2@" + T0.plus(Duration.ofDays(7)));
  }

  @Test
  void membersWhoStayedLongBeforeTheDwellListWasDeployedGetNoBurst() {
    send("old", "pro"); // day 0
    clock.set(T0.plus(Duration.ofDays(5)));
    send("mid", "pro"); // day 5
    deployedAt(T0.plus(Duration.ofDays(6))); // the dwell list appears on day 6
    clock.set(T0.plus(Duration.ofDays(6)));
    sweep();
    assertThat(dwellEvents(PRO.id())).as("old reached 3 days before the deploy").isEmpty();
    clock.set(T0.plus(Duration.ofDays(8)));
    sweep();
    assertThat(dwellEvents(PRO.id()))
        .as("mid reaches 3 days on day 8, old reaches 7 days on day 7")
        .containsExactlyInAnyOrder(
            "old:P7D:1@" + T0.plus(Duration.ofDays(7)), "mid:P3D:1@" + T0.plus(Duration.ofDays(8)));
  }

  @Test
  void aNewDwellListRestartsItsDeployInstantAndAnUnchangedOneDoesNot() {
    Engines.catalog(dsl, List.of(PRO, FAST)); // the same lists again: since stays where it was
    assertThat(since()).isEqualTo(T0);
    BucketDefinition more =
        BucketDefinition.builder(PRO.id())
            .criteria(PRO.criteria())
            .dwell(Duration.ofDays(3), Duration.ofDays(7), Duration.ofDays(30))
            .build();
    Engines.catalog(dsl, List.of(more));
    Instant restarted = since();
    assertThat(restarted).isAfter(T0);
    assertThat(
            dsl.select(BUCKET_CONFIGS.DWELL)
                .from(BUCKET_CONFIGS)
                .where(BUCKET_CONFIGS.BUCKET_ID.eq(PRO.id()))
                .fetchOne(BUCKET_CONFIGS.DWELL))
        .isEqualTo("P3D,P7D,P30D");
    Engines.catalog(dsl, List.of(more));
    assertThat(since()).isEqualTo(restarted);
  }

  Instant since() {
    return dsl.select(BUCKET_CONFIGS.DWELL_SINCE)
        .from(BUCKET_CONFIGS)
        .where(BUCKET_CONFIGS.BUCKET_ID.eq(PRO.id()))
        .fetchOne(BUCKET_CONFIGS.DWELL_SINCE);
  }

  @Test
  void aFastExpiryWatchEmitsAtTheExactInstantAndSleepsTowardTheNextThreshold() {
    send("u1", "pro");
    ExpiryRequest watch =
        new ExpiryRequest(FAST.id(), "u1", 1, T0.plus(Duration.ofDays(3)).toEpochMilli());
    clock.set(T0.plus(Duration.ofDays(3)).minusMillis(1));
    assertThat(expiry.decide(watch).check())
        .isEqualTo(ExpiryCheck.extended(T0.plus(Duration.ofDays(3)).toEpochMilli()));
    assertThat(dwellEvents(FAST.id())).isEmpty();
    clock.set(T0.plus(Duration.ofDays(3)));
    ExpiryService.Decision woke = expiry.decide(watch);
    assertThat(woke.check())
        .isEqualTo(ExpiryCheck.extended(T0.plus(Duration.ofDays(7)).toEpochMilli()));
    assertThat(woke.transitioned()).as("wakes delivery for the journey outbox").isTrue();
    assertThat(dwellEvents(FAST.id())).containsExactly("u1:P3D:1@" + T0.plus(Duration.ofDays(3)));
    sweeps.sweep(FAST.id(), p -> {});
    assertThat(expiry.decide(watch).check())
        .as("a retried wake-up")
        .isEqualTo(ExpiryCheck.extended(T0.plus(Duration.ofDays(7)).toEpochMilli()));
    assertThat(dwellEvents(FAST.id())).as("neither the sweep nor a retry repeats it").hasSize(1);
    clock.set(T0.plus(Duration.ofDays(7)));
    assertThat(expiry.decide(watch).check())
        .as("nothing left to watch")
        .isEqualTo(ExpiryCheck.gone());
    assertThat(dwellEvents(FAST.id())).hasSize(2);
  }

  @Test
  void theJsonShapeParsesValidatesAndRoundTrips() {
    var loaded =
        BucketJson.parse(
            "{\"id\":\"d\",\"criteria\":{\"type\":\"property\",\"property\":\"plan\",\"operator\":\"eq\","
                + "\"value\":\"pro\"},\"dwell\":[{\"after\":{\"days\":3}},{\"after\":\"PT12H\"}]}",
            "t");
    assertThat(loaded.problems()).isEmpty();
    BucketDefinition d = loaded.buckets().get(0);
    assertThat(d.dwell()).containsExactly(Duration.ofHours(12), Duration.ofDays(3));
    assertThat(BucketJson.toJson(d).get("dwell").toString())
        .isEqualTo("[{\"after\":\"PT12H\"},{\"after\":\"P3D\"}]");
    assertThat(BucketJson.parse(BucketJson.toJson(d).toString(), "t").buckets()).containsExactly(d);
    assertThat(
            BucketJson.parse(
                    "{\"id\":\"d\",\"kind\":\"manual\",\"dwell\":[{\"after\":\"PT0S\"},{\"when\":1},3]}",
                    "t")
                .problems()
                .stream()
                .map(p -> p.path())
                .toList())
        .contains("d.dwell[0].after", "d.dwell[1].when", "d.dwell[1].after", "d.dwell[2]");
  }
}
