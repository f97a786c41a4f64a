package dev.bucketflow.backfill;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.schema.Tables.BUCKET_BACKFILL_JOBS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static dev.bucketflow.testing.Events.at;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bucketflow.backfill.BackfillService.Plan;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.NextFlip;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MovedDeadline;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** First-time backfill, re-evaluation, crash-resume and the boot plan, on real PostgreSQL. */
class BackfillServiceTest extends DatabaseTest {

  static final Instant NOW = Instant.parse("2026-11-01T00:00:00Z");
  static final int CHUNK = 7;

  /** Count bucket with a dwell cap: exercises entry counts, expires_at and max_dwell_at. */
  static final BucketDefinition POWER =
      BucketDefinition.builder("power")
          .criteria(event("key_action").within(days(30)).atLeast(3))
          .maxDwell(days(60))
          .build();

  /** The same bucket after a criteria edit. */
  static final BucketDefinition POWER_PRO =
      BucketDefinition.builder("power")
          .criteria(all(prop("plan").eq("pro"), event("key_action").within(days(30)).atLeast(2)))
          .maxDwell(days(60))
          .build();

  static final BucketDefinition TRIAL_ACTIVE =
      BucketDefinition.builder("trial-active")
          .criteria(all(prop("plan").eq("trial"), event("app.active").within(days(7)).exists()))
          .build();

  MutableClock clock;
  BackfillFixture data;

  @BeforeEach
  void reset() {
    BackfillFixture.reset(dsl);
    clock = new MutableClock(NOW);
    data = new BackfillFixture(dsl);
  }

  BackfillService service(BucketDefinition... buckets) {
    return BackfillFixture.service(dsl, List.of(buckets), clock, CHUNK);
  }

  /** A few users through the real ingest path, before any bucket exists (no bucket loaded). */
  void ingestSomeUsers() {
    IngestService ingest = new IngestService(dsl, Engines.engine(dsl, List.of()), clock);
    ingest.apply(
        batch(
            NOW, // received now: events are never accepted from more than the clock skew ahead
            at(event("ing-a", "key_action", "{\"plan\":\"pro\"}"), NOW.minus(days(3))),
            at(event("ing-a", "key_action"), NOW.minus(days(2))),
            at(event("ing-a", "key_action"), NOW.minus(days(1))),
            at(event("ing-b", "key_action", "{\"plan\":\"trial\"}"), NOW.minus(days(40))),
            at(event("ing-b", "app.active"), NOW.minus(days(1)))));
  }

  List<String> transitions(String bucket) {
    var t = BUCKET_TRANSITIONS;
    return dsl.select(t.USER_ID, t.KIND, t.EPOCH, t.SOURCE, t.EMITTED)
        .from(t)
        .where(t.BUCKET_ID.eq(bucket))
        .orderBy(t.ID)
        .fetch()
        .map(
            r ->
                r.value1()
                    + ":"
                    + r.value2()
                    + ":"
                    + r.value3()
                    + ":"
                    + r.value4()
                    + ":"
                    + r.value5());
  }

  BackfillJob backfill(BackfillService service, BucketDefinition bucket, BackfillKind kind) {
    BackfillJob job = service.open(bucket.id(), BucketJson.fingerprint(bucket), kind);
    BackfillFixture.runToEnd(service, job);
    return service.job(job.id()).orElseThrow();
  }

  @Test
  void firstTimeBackfillMaterializesExactlyTheMatchersSilently() {
    data.randomUsers("u", 80, 42, NOW, 9);
    ingestSomeUsers();
    BackfillService service = service(POWER, TRIAL_ACTIVE);
    assertThat(service.plan(POWER)).isEqualTo(Plan.FIRST_TIME);

    BackfillJob job = backfill(service, POWER, BackfillKind.FIRST_TIME);

    Set<String> expected = data.expectedMembers(POWER, NOW);
    assertThat(expected)
        .as("the data has matchers and non-matchers")
        .isNotEmpty()
        .contains("ing-a");
    assertThat(expected.size()).isLessThan(data.liveContacts().size());
    assertThat(data.activeMembers("power")).isEqualTo(expected);
    assertThat(data.activeMembers("trial-active")).as("other buckets untouched").isEmpty();

    // Rows: source backfill, first entry, deadlines stamped.
    Map<String, UserState> states = data.states(POWER, NOW);
    var m = BUCKET_MEMBERSHIPS;
    var rows = dsl.selectFrom(m).where(m.BUCKET_ID.eq("power")).fetch();
    assertThat(rows).hasSize(expected.size());
    for (var r : rows) {
      assertThat(r.getSource()).isEqualTo(MembershipSource.BACKFILL);
      assertThat(r.getEntryCount()).isEqualTo(1);
      assertThat(r.getEnteredAt()).isEqualTo(NOW);
      assertThat(r.getMaxDwellAt()).isEqualTo(NOW.plus(days(60)));
      assertThat(r.getUserEmail())
          .isEqualTo(r.getUserId().startsWith("ing-") ? null : r.getUserId() + "@example.com");
      Instant deadline =
          NextFlip.deadline(POWER.criteria(), states.get(r.getUserId()), NOW).orElseThrow();
      assertThat(r.getExpiresAt()).as("expires_at of %s", r.getUserId()).isEqualTo(deadline);
    }

    // No join events anywhere, outbox rows not emitted (fast expiry and PostHog still see them).
    assertThat(data.bucketUserEvents("bucket:%")).isZero();
    assertThat(transitions("power"))
        .hasSize(expected.size())
        .allMatch(t -> t.endsWith(":entered:1:backfill:false"));

    // The job's books, and the hash recorded.
    assertThat(job.status()).isEqualTo(BackfillStatus.COMPLETED);
    assertThat(job.kind()).isEqualTo(BackfillKind.FIRST_TIME);
    assertThat(job.processed()).isEqualTo(job.totals()).isEqualTo(data.liveContacts().size());
    assertThat(job.joined()).isEqualTo(expected.size());
    assertThat(job.left()).isZero();
    assertThat(service.storedHash("power")).isEqualTo(BucketJson.fingerprint(POWER));
    assertThat(
            dsl.fetchValue(
                "select finished_at is not null from bucket_backfill_jobs where id = " + job.id()))
        .isEqualTo(true);

    // A second run inserts nothing: the boot plan is NONE, a chunk of the completed job is a
    // no-op, and even a forced re-evaluation of the same criteria changes nothing.
    assertThat(service.plan(POWER)).isEqualTo(Plan.NONE);
    assertThat(service.open("power", BucketJson.fingerprint(POWER), BackfillKind.FIRST_TIME))
        .isEqualTo(job);
    assertThat(service.runChunk(job.id()))
        .isEqualTo(new ChunkResult(job.processed(), job.totals(), 0, 0, true));
    BackfillJob again =
        service.restart("power", BucketJson.fingerprint(POWER), BackfillKind.REEVAL);
    BackfillFixture.runToEnd(service, again);
    BackfillJob rerun = service.job(again.id()).orElseThrow();
    assertThat(rerun.joined()).isZero();
    assertThat(rerun.left()).isZero();
    assertThat(rerun.processed()).isEqualTo(job.processed());
    assertThat(dsl.fetchCount(m, m.BUCKET_ID.eq("power"))).isEqualTo(expected.size());
    assertThat(transitions("power")).hasSize(expected.size());
  }

  @Test
  void deletedContactsAreNeverJoinedNorLeft() {
    // Matching contacts at both ends of the key space and in the middle, deleted.
    for (String id : List.of("a-deleted", "m-deleted", "z-deleted", "b-live", "n-live")) {
      data.contact(id, "{}");
      data.events(id, "key_action", NOW.minus(days(1)), NOW.minus(days(2)), NOW.minus(days(3)));
    }
    for (String id : List.of("a-deleted", "m-deleted", "z-deleted"))
      data.delete(id, NOW.minus(days(1)));
    // A deleted contact whose membership deletion left active (never touched: no leave either).
    var m = BUCKET_MEMBERSHIPS;
    dsl.insertInto(m, m.USER_ID, m.BUCKET_ID, m.STATUS, m.ENTERED_AT, m.ENTRY_COUNT, m.SOURCE)
        .values(
            "m-deleted",
            "power-pro",
            MembershipStatus.ACTIVE,
            NOW.minus(days(5)),
            1,
            MembershipSource.EVENT)
        .execute();
    BackfillService service = BackfillFixture.service(dsl, List.of(POWER, POWER_PRO_ID), clock, 2);

    BackfillJob first = backfill(service, POWER, BackfillKind.FIRST_TIME);
    BackfillJob reeval = backfill(service, POWER_PRO_ID, BackfillKind.REEVAL);

    assertThat(data.activeMembers("power")).containsExactly("b-live", "n-live");
    assertThat(first.processed()).isEqualTo(2);
    assertThat(reeval.left()).isZero();
    assertThat(data.activeMembers("power-pro")).containsExactly("m-deleted");
    assertThat(transitions("power-pro")).isEmpty();
    assertThat(data.bucketUserEvents("bucket:%")).isZero();
  }

  static final BucketDefinition POWER_PRO_ID =
      BucketDefinition.builder("power-pro")
          .criteria(all(prop("plan").eq("pro"), event("key_action").within(days(30)).atLeast(2)))
          .build();

  @Test
  void reevaluationLeavesNonMatchersWithEventsAndJoinsNewMatchersSilently() {
    data.randomUsers("u", 90, 7, NOW, 11);
    ingestSomeUsers();
    // A user with history in the bucket: joined and left before; re-joins with the next epoch.
    var m = BUCKET_MEMBERSHIPS;
    BackfillService before = service(POWER);
    backfill(before, POWER, BackfillKind.FIRST_TIME);
    Set<String> oldMembers = data.activeMembers("power");

    clock.advance(Duration.ofHours(1));
    Instant later = clock.instant();
    // Some history: a new-criteria matcher who left the old bucket earlier gets entry_count 2.
    data.contact("v-returning", "{\"plan\":\"pro\"}");
    data.events("v-returning", "key_action", later.minus(days(1)), later.minus(days(2)));
    dsl.insertInto(
            m, m.USER_ID, m.BUCKET_ID, m.STATUS, m.ENTERED_AT, m.LEFT_AT, m.ENTRY_COUNT, m.SOURCE)
        .values(
            "v-returning",
            "power",
            MembershipStatus.LEFT,
            NOW.minus(days(20)),
            NOW.minus(days(10)),
            1,
            MembershipSource.EVENT)
        .execute();

    BackfillService after = service(POWER_PRO);
    assertThat(after.plan(POWER_PRO)).isEqualTo(Plan.REEVAL);
    BackfillJob job = backfill(after, POWER_PRO, BackfillKind.REEVAL);

    Set<String> expected = data.expectedMembers(POWER_PRO, later);
    assertThat(data.activeMembers("power")).isEqualTo(expected);
    Set<String> leavers = new TreeSet<>(oldMembers);
    leavers.removeAll(expected);
    Set<String> joiners = new TreeSet<>(expected);
    joiners.removeAll(oldMembers);
    Set<String> stayers = new TreeSet<>(expected);
    stayers.retainAll(oldMembers);
    assertThat(leavers).isNotEmpty();
    assertThat(joiners).isNotEmpty().contains("v-returning");
    assertThat(stayers).isNotEmpty();
    assertThat(job.left()).isEqualTo(leavers.size());
    assertThat(job.joined()).isEqualTo(joiners.size());
    assertThat(job.processed()).isEqualTo(job.totals()).isEqualTo(data.liveContacts().size());

    // Leavers: CAS-left rows, emitted transitions and bucket:left events with the deterministic
    // key.
    var t = BUCKET_TRANSITIONS;
    for (String user : leavers) {
      var row =
          dsl.selectFrom(m).where(m.BUCKET_ID.eq("power").and(m.USER_ID.eq(user))).fetchSingle();
      assertThat(row.getStatus()).isEqualTo(MembershipStatus.LEFT);
      assertThat(row.getLeftAt()).isEqualTo(later);
      assertThat(row.getExpiresAt()).isNull();
      assertThat(
              dsl.fetchCount(
                  t,
                  t.BUCKET_ID
                      .eq("power")
                      .and(t.USER_ID.eq(user))
                      .and(t.KIND.eq(TransitionKind.LEFT))
                      .and(t.EPOCH.eq(1))
                      .and(t.SOURCE.eq(MembershipSource.BACKFILL))
                      .and(t.EMITTED.isTrue())
                      .and(t.REASON.eq(LeaveReason.REEVALUATION))))
          .isEqualTo(1);
    }
    var e = USER_EVENTS;
    Set<String> leftEventUsers =
        new HashSet<>(
            dsl.select(e.USER_ID).from(e).where(e.EVENT.eq("bucket:left:power")).fetch(e.USER_ID));
    assertThat(leftEventUsers).isEqualTo(leavers);
    assertThat(
            dsl.fetchCount(
                e,
                e.EVENT
                    .eq("bucket:left:power")
                    .and(e.IDEMPOTENCY_KEY.like("bucket:power:%:left:1"))))
        .isEqualTo(leavers.size());
    assertThat(data.bucketUserEvents("bucket:entered%")).as("joins stay silent").isZero();

    // Joiners: fresh rows, epoch after their history, outbox not emitted.
    for (String user : joiners) {
      var row =
          dsl.selectFrom(m)
              .where(
                  m.BUCKET_ID
                      .eq("power")
                      .and(m.USER_ID.eq(user))
                      .and(m.STATUS.eq(MembershipStatus.ACTIVE)))
              .fetchSingle();
      assertThat(row.getSource()).isEqualTo(MembershipSource.BACKFILL);
      assertThat(row.getEnteredAt()).isEqualTo(later);
      assertThat(row.getEntryCount()).isEqualTo(user.equals("v-returning") ? 2 : 1);
      assertThat(
              dsl.fetchCount(
                  t,
                  t.BUCKET_ID
                      .eq("power")
                      .and(t.USER_ID.eq(user))
                      .and(t.KIND.eq(TransitionKind.ENTERED))
                      .and(t.EMITTED.isFalse())
                      .and(t.EPOCH.eq(row.getEntryCount()))))
          .isEqualTo(1);
    }

    // Stayers keep their row (entered at the first backfill), with the deadline of the new
    // criteria.
    Map<String, UserState> states = data.states(POWER_PRO, later);
    for (String user : stayers) {
      var row =
          dsl.selectFrom(m).where(m.BUCKET_ID.eq("power").and(m.USER_ID.eq(user))).fetchSingle();
      assertThat(row.getEnteredAt()).isEqualTo(NOW);
      assertThat(row.getExpiresAt())
          .as("expires_at of %s", user)
          .isEqualTo(NextFlip.deadline(POWER_PRO.criteria(), states.get(user), later).orElse(null));
    }
    assertThat(after.storedHash("power")).isEqualTo(BucketJson.fingerprint(POWER_PRO));
    assertThat(after.plan(POWER_PRO)).as("an unchanged restart starts no job").isEqualTo(Plan.NONE);
    assertThat(data.duplicateActives("power")).isEmpty();
  }

  @Test
  void reevaluationDefersTheLeaveOfAMemberStillInsideMinDwell() {
    BucketDefinition sticky =
        BucketDefinition.builder("sticky")
            .criteria(event("ping").within(days(30)).exists())
            .minDwell(Duration.ofHours(6))
            .build();
    BucketDefinition stickier =
        BucketDefinition.builder("sticky")
            .criteria(event("pong").within(days(30)).exists())
            .minDwell(Duration.ofHours(6))
            .build();
    data.contact("fresh", "{}");
    data.events("fresh", "ping", NOW.minus(Duration.ofHours(1)));
    data.contact("old", "{}");
    data.events("old", "ping", NOW.minus(Duration.ofHours(1)));
    var m = BUCKET_MEMBERSHIPS;
    dsl.insertInto(m, m.USER_ID, m.BUCKET_ID, m.STATUS, m.ENTERED_AT, m.ENTRY_COUNT, m.SOURCE)
        .values(
            "fresh",
            "sticky",
            MembershipStatus.ACTIVE,
            NOW.minus(Duration.ofHours(1)),
            1,
            MembershipSource.EVENT)
        .values(
            "old", "sticky", MembershipStatus.ACTIVE, NOW.minus(days(1)), 1, MembershipSource.EVENT)
        .execute();
    BackfillService service = service(stickier);

    BackfillJob job = backfill(service, stickier, BackfillKind.REEVAL);

    assertThat(job.left()).isEqualTo(1);
    assertThat(data.activeMembers("sticky")).containsExactly("fresh");
    assertThat(
            dsl.select(m.EXPIRES_AT).from(m).where(m.USER_ID.eq("fresh")).fetchSingle(m.EXPIRES_AT))
        .isEqualTo(NOW.plus(Duration.ofHours(5)));
    assertThat(transitions("sticky")).containsExactly("old:left:1:backfill:true");
  }

  /**
   * A re-evaluation of a fast-expiry bucket tells the watches of the deadlines it moved earlier (a
   * minDwell deferral, a recomputed deadline), after the chunk committed; not the unchanged or
   * later ones.
   */
  @Test
  void reevaluationOfAFastExpiryBucketSignalsTheDeadlinesItMovedEarlierAfterItsCommit() {
    BucketDefinition after =
        BucketDefinition.builder("fast-sticky")
            .fastExpiry(true)
            .criteria(event("pong").within(days(30)).exists())
            .minDwell(Duration.ofHours(6))
            .build();
    var m = BUCKET_MEMBERSHIPS;
    data.contact("deferred", "{}");
    data.events("deferred", "ping", NOW.minus(Duration.ofHours(1)));
    data.contact("recomputed", "{}");
    data.events("recomputed", "pong", NOW.minus(Duration.ofHours(1)));
    data.contact("unchanged", "{}");
    data.events("unchanged", "pong", NOW.minus(Duration.ofHours(2)));
    data.contact("later", "{}");
    data.events("later", "pong", NOW.minus(Duration.ofHours(3)));
    dsl.insertInto(
            m,
            m.USER_ID,
            m.BUCKET_ID,
            m.STATUS,
            m.ENTERED_AT,
            m.EXPIRES_AT,
            m.ENTRY_COUNT,
            m.SOURCE)
        .values(
            "deferred",
            "fast-sticky",
            MembershipStatus.ACTIVE,
            NOW.minus(Duration.ofHours(1)),
            NOW.plus(days(29)),
            2,
            MembershipSource.EVENT)
        .values(
            "recomputed",
            "fast-sticky",
            MembershipStatus.ACTIVE,
            NOW.minus(Duration.ofHours(1)),
            NOW.plus(days(40)),
            1,
            MembershipSource.EVENT)
        .values(
            "unchanged",
            "fast-sticky",
            MembershipStatus.ACTIVE,
            NOW.minus(Duration.ofHours(2)),
            NOW.minus(Duration.ofHours(2)).plus(days(30)),
            1,
            MembershipSource.EVENT)
        .values(
            "later",
            "fast-sticky",
            MembershipStatus.ACTIVE,
            NOW.minus(Duration.ofHours(3)),
            NOW.plus(days(1)),
            1,
            MembershipSource.EVENT)
        .execute();
    List<MovedDeadline> signalled = new java.util.ArrayList<>();
    Map<String, Instant> committedWhenSignalled = new java.util.HashMap<>();
    BackfillService service =
        new BackfillService(
            dsl,
            Engines.catalog(dsl, List.of(after)),
            new UserStates(new EventHistoryLoader()),
            TransitionWriter.withoutGenericEvents(),
            clock,
            CHUNK,
            moved -> {
              signalled.addAll(moved);
              // Read outside the chunk's transaction: only committed rows are seen.
              moved.forEach(
                  d ->
                      committedWhenSignalled.put(
                          d.userId(),
                          dsl.select(m.EXPIRES_AT)
                              .from(m)
                              .where(m.USER_ID.eq(d.userId()))
                              .fetchSingle(m.EXPIRES_AT)));
            });

    backfill(service, after, BackfillKind.REEVAL);

    assertThat(signalled)
        .containsExactlyInAnyOrder(
            new MovedDeadline("fast-sticky", "deferred", 2, NOW.plus(Duration.ofHours(5))),
            new MovedDeadline(
                "fast-sticky", "recomputed", 1, NOW.minus(Duration.ofHours(1)).plus(days(30))));
    assertThat(committedWhenSignalled)
        .containsEntry("deferred", NOW.plus(Duration.ofHours(5)))
        .containsEntry("recomputed", NOW.minus(Duration.ofHours(1)).plus(days(30)));
    assertThat(
            dsl.select(m.EXPIRES_AT).from(m).where(m.USER_ID.eq("later")).fetchSingle(m.EXPIRES_AT))
        .as("moved later: the watch learns it from leave-or-extend, no signal")
        .isEqualTo(NOW.minus(Duration.ofHours(3)).plus(days(30)));
  }

  @Test
  void aCrashMidChunkRollsTheChunkBackAndTheResumedJobNeitherSkipsNorDuplicates() {
    data.randomUsers("u", 40, 3, NOW, 0);
    BackfillService service = service(POWER);
    BackfillJob job = service.open("power", BucketJson.fingerprint(POWER), BackfillKind.FIRST_TIME);
    assertThat(service.runChunk(job.id()).done()).isFalse();
    ChunkResult second = service.runChunk(job.id());
    assertThat(second.processed()).isEqualTo(2L * CHUNK);
    int rowsBefore = dsl.fetchCount(BUCKET_MEMBERSHIPS);
    int outboxBefore = dsl.fetchCount(BUCKET_TRANSITIONS);
    String cursorBefore = service.job(job.id()).orElseThrow().cursorUser();

    int[] insertedInCrashedChunk = {-1};
    service.afterInsert(
        joined -> {
          insertedInCrashedChunk[0] = joined;
          throw new IllegalStateException("worker killed");
        });
    assertThatThrownBy(() -> service.runChunk(job.id())).hasMessageContaining("worker killed");
    assertThat(insertedInCrashedChunk[0])
        .as("the crash came after the chunk's inserts")
        .isPositive();
    assertThat(dsl.fetchCount(BUCKET_MEMBERSHIPS)).as("rolled back").isEqualTo(rowsBefore);
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS)).isEqualTo(outboxBefore);
    BackfillJob afterCrash = service.job(job.id()).orElseThrow();
    assertThat(afterCrash.cursorUser()).isEqualTo(cursorBefore);
    assertThat(afterCrash.processed()).isEqualTo(2L * CHUNK);

    // A restarted worker opens the same job and resumes from its cursor.
    service.afterInsert(null);
    BackfillService restarted = service(POWER);
    BackfillJob resumed =
        restarted.open("power", BucketJson.fingerprint(POWER), BackfillKind.FIRST_TIME);
    assertThat(resumed.id()).isEqualTo(job.id());
    assertThat(resumed.cursorUser()).isEqualTo(cursorBefore);
    BackfillFixture.runToEnd(restarted, resumed);

    BackfillJob done = restarted.job(job.id()).orElseThrow();
    Set<String> expected = data.expectedMembers(POWER, NOW);
    assertThat(done.status()).isEqualTo(BackfillStatus.COMPLETED);
    assertThat(done.processed()).isEqualTo(done.totals()).isEqualTo(40);
    assertThat(done.joined()).isEqualTo(expected.size());
    assertThat(data.activeMembers("power")).isEqualTo(expected);
    assertThat(data.duplicateActives("power")).isEmpty();
    assertThat(dsl.fetchCount(BUCKET_MEMBERSHIPS)).isEqualTo(expected.size());
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS)).isEqualTo(expected.size());
  }

  @Test
  void aChunkRetriedAfterItCommittedDoesTheNextChunkNotTheSameOneAgain() {
    data.randomUsers("u", 20, 5, NOW, 0);
    BackfillService service = service(POWER);
    BackfillJob job = service.open("power", BucketJson.fingerprint(POWER), BackfillKind.FIRST_TIME);
    ChunkResult first = service.runChunk(job.id());
    ChunkResult retried = service.runChunk(job.id()); // as if the first result was lost
    ChunkResult third = service.runChunk(job.id());
    assertThat(first.processed()).isEqualTo(7);
    assertThat(retried.processed()).isEqualTo(14);
    assertThat(third)
        .extracting(ChunkResult::processed, ChunkResult::totals, ChunkResult::done)
        .containsExactly(20L, 20L, true);
    assertThat(first.joined() + retried.joined() + third.joined())
        .isEqualTo(data.expectedMembers(POWER, NOW).size());
  }

  @Test
  void bootPlanFollowsTheRecordedHashTheRowsAndUnfinishedJobs() {
    BucketDefinition manual = BucketDefinition.builder("vips").manual().build();
    BackfillService service = service(POWER, manual);
    assertThat(service.plan(manual)).isEqualTo(Plan.NONE);
    assertThat(service.plan(POWER)).isEqualTo(Plan.FIRST_TIME);

    // Rows from live events but no recorded hash: re-evaluate.
    var m = BUCKET_MEMBERSHIPS;
    dsl.insertInto(m, m.USER_ID, m.BUCKET_ID, m.STATUS, m.ENTERED_AT, m.ENTRY_COUNT, m.SOURCE)
        .values("x", "power", MembershipStatus.LEFT, NOW, 1, MembershipSource.EVENT)
        .execute();
    assertThat(service.plan(POWER)).isEqualTo(Plan.REEVAL);

    // An unfinished first-time job for this hash is resumed as what it was.
    BackfillJob job = service.open("power", BucketJson.fingerprint(POWER), BackfillKind.FIRST_TIME);
    assertThat(service.plan(POWER)).isEqualTo(Plan.FIRST_TIME);
    service.fail(job.id(), "boom");
    assertThat(service.plan(POWER)).isEqualTo(Plan.FIRST_TIME);
    BackfillJob reopened =
        service.open("power", BucketJson.fingerprint(POWER), BackfillKind.REEVAL);
    assertThat(reopened.id()).isEqualTo(job.id());
    assertThat(reopened.status()).isEqualTo(BackfillStatus.RUNNING);
    assertThat(reopened.kind())
        .as("an existing row keeps its kind")
        .isEqualTo(BackfillKind.FIRST_TIME);
    BackfillFixture.runToEnd(service, reopened);
    assertThat(service.plan(POWER)).isEqualTo(Plan.NONE);
    assertThat(service.plan(POWER_PRO)).isEqualTo(Plan.REEVAL);
  }

  @Test
  void criteriaChangedAwayAndBackRestartTheCompletedJobOfTheOldHash() {
    data.randomUsers("u", 30, 11, NOW, 0);
    backfill(service(POWER), POWER, BackfillKind.FIRST_TIME);
    backfill(service(POWER_PRO), POWER_PRO, BackfillKind.REEVAL);
    assertThat(data.activeMembers("power")).isEqualTo(data.expectedMembers(POWER_PRO, NOW));

    BackfillService back = service(POWER);
    assertThat(back.plan(POWER)).isEqualTo(Plan.REEVAL);
    BackfillJob restarted = back.open("power", BucketJson.fingerprint(POWER), BackfillKind.REEVAL);
    assertThat(restarted.status()).isEqualTo(BackfillStatus.RUNNING);
    assertThat(restarted.kind()).isEqualTo(BackfillKind.REEVAL);
    assertThat(restarted.processed()).isZero();
    assertThat(restarted.cursorUser()).isNull();
    BackfillFixture.runToEnd(back, restarted);

    assertThat(data.activeMembers("power")).isEqualTo(data.expectedMembers(POWER, NOW));
    assertThat(back.plan(POWER)).isEqualTo(Plan.NONE);
    assertThat(data.duplicateActives("power")).isEmpty();
  }

  @Test
  void aWorkerWithOtherDefinitionsRefusesTheChunkAndAFailedJobIsResumedNotRestarted() {
    data.randomUsers("u", 20, 9, NOW, 0);
    BackfillService service = service(POWER);
    BackfillJob job = service.open("power", BucketJson.fingerprint(POWER), BackfillKind.FIRST_TIME);
    service.runChunk(job.id());

    BackfillService stale = service(POWER_PRO);
    assertThatThrownBy(() -> stale.runChunk(job.id()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("fingerprint");
    assertThatThrownBy(() -> service.runChunk(9_999_999L))
        .isInstanceOf(IllegalArgumentException.class);

    service.fail(job.id(), "gave up");
    BackfillJob failed = service.job(job.id()).orElseThrow();
    assertThat(failed.status()).isEqualTo(BackfillStatus.FAILED);
    assertThatThrownBy(() -> service.runChunk(job.id())).isInstanceOf(IllegalStateException.class);
    service.complete(job.id());
    assertThat(service.storedHash("power")).as("a failed job records no hash").isNull();

    BackfillJob resumed =
        service.open("power", BucketJson.fingerprint(POWER), BackfillKind.FIRST_TIME);
    assertThat(resumed.status()).isEqualTo(BackfillStatus.RUNNING);
    assertThat(resumed.processed()).isEqualTo(7);
    assertThat(service.restart("power", BucketJson.fingerprint(POWER), BackfillKind.REEVAL))
        .as("a running walk is never reset")
        .isEqualTo(resumed);
    assertThat(resumed.cursorUser()).isEqualTo(failed.cursorUser());
    BackfillFixture.runToEnd(service, resumed);
    assertThat(data.activeMembers("power")).isEqualTo(data.expectedMembers(POWER, NOW));
    var j = BUCKET_BACKFILL_JOBS;
    assertThat(dsl.select(j.ERROR).from(j).where(j.ID.eq(job.id())).fetchSingle(j.ERROR)).isNull();
  }

  @Test
  void anEmptyContactTableCompletesAtOnce() {
    BackfillService service = service(POWER);
    BackfillJob job = service.open("power", BucketJson.fingerprint(POWER), BackfillKind.FIRST_TIME);
    assertThat(job.totals()).isZero();
    assertThat(service.runChunk(job.id())).isEqualTo(new ChunkResult(0, 0, 0, 0, true));
    service.complete(job.id());
    assertThat(service.plan(POWER)).isEqualTo(Plan.NONE);
  }
}
