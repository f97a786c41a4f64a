package dev.bucketflow.membership;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.schema.Tables.BUCKET_BACKFILL_JOBS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bucketflow.backfill.BackfillService;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BucketCriterion;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.BucketValidator;
import dev.bucketflow.bucket.MembershipCheck;
import dev.bucketflow.bucket.Problem;
import dev.bucketflow.db.Json;
import dev.bucketflow.expiry.ExpiryCheck;
import dev.bucketflow.expiry.ExpiryRequest;
import dev.bucketflow.expiry.ExpiryService;
import dev.bucketflow.ingest.IngestBatch;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.ingest.PendingEvent;
import dev.bucketflow.reconcile.ReconcileService;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Buckets of buckets (issue 12 item 2): a dependent joins and leaves in the same transaction as its
 * dependency — checked by the transitions' {@code xmin} — on the real-time path, on a reconcile
 * leave, on an expiry leave and on a manual op, two levels deep, in dependency order; a cycle is
 * refused with its path; a dependent's backfill waits for its dependency's.
 */
class BucketConditionsTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");

  static BucketCriterion member(String id) {
    return new BucketCriterion(id, MembershipCheck.MEMBER);
  }

  static BucketCriterion notMember(String id) {
    return new BucketCriterion(id, MembershipCheck.NOT_MEMBER);
  }

  /** Pinged in the last hour; swept, and watched in {@link #WATCHED}. */
  static final BucketDefinition ACTIVE =
      BucketDefinition.builder("active")
          .criteria(event("ping").within(Duration.ofHours(1)).exists())
          .build();

  static final BucketDefinition ACTIVE_PRO =
      BucketDefinition.builder("active-pro")
          .criteria(all(member("active"), prop("plan").eq("pro")))
          .build();

  /** Two levels: depends on active-pro, which depends on active. */
  static final BucketDefinition ACTIVE_PRO_VIP =
      BucketDefinition.builder("active-pro-vip")
          .criteria(all(member("active-pro"), prop("vip").eq(true)))
          .build();

  static final BucketDefinition IDLE_PRO =
      BucketDefinition.builder("idle-pro")
          .criteria(all(notMember("active"), prop("plan").eq("pro")))
          .build();
  static final BucketDefinition WATCHED =
      BucketDefinition.builder("watched")
          .criteria(event("look").within(Duration.ofHours(1)).exists())
          .fastExpiry(true)
          .build();
  static final BucketDefinition WATCHED_FAN =
      BucketDefinition.builder("watched-fan").criteria(member("watched")).build();
  static final BucketDefinition LIST = BucketDefinition.builder("vip-list").manual().build();
  static final BucketDefinition LISTED_PRO =
      BucketDefinition.builder("listed-pro")
          .criteria(all(member("vip-list"), prop("plan").eq("pro")))
          .build();

  MutableClock clock;
  IngestService ingest;
  ReconcileService sweeps;
  ExpiryService expiry;
  BucketCatalog catalog;
  int seq;

  @BeforeEach
  void reset() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, ingest_batches, bucket_memberships, bucket_transitions, bucket_configs, "
            + "bucket_backfill_jobs");
    clock = new MutableClock(T0);
    catalog =
        Engines.catalog(
            dsl,
            List.of(
                ACTIVE,
                ACTIVE_PRO,
                ACTIVE_PRO_VIP,
                IDLE_PRO,
                WATCHED,
                WATCHED_FAN,
                LIST,
                LISTED_PRO));
    EventHistoryLoader history = new EventHistoryLoader();
    TransitionWriter writer = TransitionWriter.withoutGenericEvents();
    ingest =
        new IngestService(
            dsl, new MembershipEngine(catalog, new MembershipStore(), history, writer), clock);
    sweeps = new ReconcileService(dsl, catalog, new UserStates(history), writer, clock, 100, null);
    expiry = new ExpiryService(dsl, catalog, new UserStates(history), writer, clock);
  }

  void send(String user, String name, String props) {
    ingest.apply(batch(clock.instant(), event(user, name, props)));
  }

  /** {@code bucket:kind:epoch:source} in outbox order, each with its writing transaction. */
  List<String> transitions(String user) {
    var t = BUCKET_TRANSITIONS;
    return dsl.select(t.BUCKET_ID, t.KIND, t.EPOCH, t.SOURCE)
        .from(t)
        .where(t.USER_ID.eq(user))
        .orderBy(t.ID)
        .fetch()
        .map(r -> r.value1() + ":" + r.value2() + ":" + r.value3() + ":" + r.value4());
  }

  /** The distinct transactions that wrote the user's transitions of these buckets (xmin). */
  List<String> transactions(String user, String kind, String... buckets) {
    return dsl.fetch(
            "select distinct xmin::text from bucket_transitions where user_id = ? and kind = ? and bucket_id = any(?)",
            user,
            kind,
            buckets)
        .getValues(0, String.class);
  }

  @Test
  void theRealTimePathJoinsAndLeavesDependentsWithTheirDependencyInOrder() {
    send("u1", "ping", "{\"plan\":\"pro\",\"vip\":true}");
    assertThat(transitions("u1"))
        .containsExactly(
            "active:entered:1:event",
            "active-pro:entered:1:event",
            "active-pro-vip:entered:1:event");
    assertThat(transactions("u1", "entered", "active", "active-pro", "active-pro-vip")).hasSize(1);
    send("u1", "profile", "{\"vip\":false}");
    assertThat(transitions("u1")).endsWith("active-pro-vip:left:1:event");
    // One batch, join then leave of the dependency: the dependents follow event by event.
    ingest.apply(
        batch(
            clock.instant(),
            List.of(
                event("u2", "profile", "{\"plan\":\"pro\"}"),
                event("u2", "ping", null),
                event("u2", "profile", "{\"plan\":\"free\"}"))));
    // Dependency order: active, then its rank-1 dependents by id (active-pro before idle-pro).
    assertThat(transitions("u2"))
        .containsExactly(
            "idle-pro:entered:1:event",
            "active:entered:1:event",
            "active-pro:entered:1:event",
            "idle-pro:left:1:event",
            "active-pro:left:1:event");
  }

  @Test
  void aReconcileLeaveOfTheDependencyLeavesAndJoinsItsDependentsInItsTransaction() {
    send("u1", "ping", "{\"plan\":\"pro\",\"vip\":true}");
    clock.advance(Duration.ofHours(1));
    sweeps.sweep("active", p -> {});
    assertThat(transitions("u1"))
        .containsExactly(
            "active:entered:1:event",
            "active-pro:entered:1:event",
            "active-pro-vip:entered:1:event",
            "active:left:1:reconcile",
            "active-pro:left:1:reconcile",
            "idle-pro:entered:1:reconcile",
            "active-pro-vip:left:1:reconcile");
    var t = BUCKET_TRANSITIONS;
    assertThat(
            dsl.fetch(
                "select distinct xmin::text from bucket_transitions where user_id = 'u1' and source = 'reconcile'"))
        .as("the sweep's leave, its dependents' leaves and the not_member join: one transaction")
        .hasSize(1);
  }

  @Test
  void anExpiryLeaveOfTheDependencyLeavesItsDependentInItsTransaction() {
    send("u1", "look", null);
    assertThat(transitions("u1"))
        .containsExactly("watched:entered:1:event", "watched-fan:entered:1:event");
    clock.advance(Duration.ofHours(1));
    assertThat(
            expiry.leaveOrExtend(
                new ExpiryRequest("watched", "u1", 1, clock.instant().toEpochMilli())))
        .isEqualTo(ExpiryCheck.left());
    assertThat(transitions("u1")).endsWith("watched:left:1:expiry", "watched-fan:left:1:expiry");
    assertThat(transactions("u1", "left", "watched", "watched-fan")).hasSize(1);
  }

  @Test
  void aManualOpOnTheDependencyMovesItsDependent() {
    send("u1", "profile", "{\"plan\":\"pro\"}");
    ingest.apply(
        new IngestBatch(
            "ops-" + (seq++), 0, new ArrayList<>(List.of(op(PendingEvent.ADD_TO_BUCKET)))));
    assertThat(transitions("u1"))
        .containsExactly(
            "idle-pro:entered:1:event", "vip-list:entered:1:manual", "listed-pro:entered:1:manual");
    ingest.apply(
        new IngestBatch(
            "ops-" + (seq++), 0, new ArrayList<>(List.of(op(PendingEvent.REMOVE_FROM_BUCKET)))));
    assertThat(transitions("u1")).endsWith("vip-list:left:1:manual", "listed-pro:left:1:manual");
    assertThat(transactions("u1", "left", "vip-list", "listed-pro")).hasSize(1);
  }

  static PendingEvent op(String kind) {
    try {
      return new PendingEvent(
          Json.MAPPER.readTree("{\"bucketId\":\"vip-list\",\"userId\":\"u1\"}"),
          T0.toEpochMilli(),
          kind);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  @Test
  void aDependentsBackfillWaitsForItsDependencysFirstBackfill() {
    BackfillService backfill =
        new BackfillService(
            dsl,
            catalog,
            new UserStates(new EventHistoryLoader()),
            TransitionWriter.withoutGenericEvents(),
            clock,
            100);
    var active = backfill.open("active", BucketJson.fingerprint(ACTIVE), BackfillKind.FIRST_TIME);
    var dependent =
        backfill.open("active-pro", BucketJson.fingerprint(ACTIVE_PRO), BackfillKind.FIRST_TIME);
    assertThatThrownBy(() -> backfill.runChunk(dependent.id()))
        .isInstanceOf(BackfillService.DependencyBackfillRunning.class)
        .hasMessageContaining("'active'");
    while (!backfill.runChunk(active.id()).done()) {}
    backfill.complete(active.id());
    assertThat(backfill.runChunk(dependent.id()).done()).isTrue();
    assertThat(dsl.fetchCount(BUCKET_BACKFILL_JOBS)).isEqualTo(2);
  }

  @Test
  void validationRefusesCyclesWithTheirPathUnknownIdsSelfReferencesAndALoneNotMember() {
    BucketDefinition a =
        BucketDefinition.builder("a").criteria(all(member("b"), prop("x").eq(1))).build();
    BucketDefinition b = BucketDefinition.builder("b").criteria(member("c")).build();
    BucketDefinition c = BucketDefinition.builder("c").criteria(member("a")).build();
    BucketDefinition self = BucketDefinition.builder("self").criteria(member("self")).build();
    BucketDefinition ghost = BucketDefinition.builder("ghost").criteria(member("nope")).build();
    BucketDefinition lonely = BucketDefinition.builder("lonely").criteria(notMember("a")).build();
    List<String> problems =
        BucketValidator.validate(List.of(a, b, c, self, ghost, lonely)).stream()
            .map(p -> p.path() + ": " + p.message())
            .toList();
    assertThat(problems)
        .contains(
            "a.criteria: bucket conditions form a cycle: a -> b -> c -> a",
            "self.criteria.bucketId: a bucket cannot depend on its own membership",
            "ghost.criteria.bucketId: unknown bucket 'nope'");
    assertThat(problems).anyMatch(p -> p.startsWith("lonely.criteria: needs a positive condition"));
    assertThat(problems.stream().filter(p -> p.contains("cycle")))
        .as("one report per cycle")
        .hasSize(1);
    assertThat(BucketValidator.validate(List.of(ACTIVE, ACTIVE_PRO, ACTIVE_PRO_VIP, IDLE_PRO)))
        .isEmpty();
  }

  @Test
  void theJsonShapeRoundTrips() {
    var parsed =
        BucketJson.parse(
            "{\"id\":\"d\",\"criteria\":{\"type\":\"bucket\",\"bucketId\":\"power-users\","
                + "\"check\":\"not_member\"}}",
            "t");
    assertThat(parsed.problems()).isEmpty();
    assertThat(parsed.buckets().get(0).criteria()).isEqualTo(notMember("power-users"));
    assertThat(BucketJson.toJson(parsed.buckets().get(0).criteria()).toString())
        .isEqualTo("{\"type\":\"bucket\",\"bucketId\":\"power-users\",\"check\":\"not_member\"}");
    List<Problem> bad =
        BucketJson.parse(
                "{\"id\":\"d\",\"criteria\":{\"type\":\"bucket\",\"check\":\"maybe\",\"x\":1}}",
                "t")
            .problems();
    assertThat(bad.stream().map(Problem::path))
        .contains("d.criteria.bucketId", "d.criteria.check", "d.criteria.x");
  }
}
