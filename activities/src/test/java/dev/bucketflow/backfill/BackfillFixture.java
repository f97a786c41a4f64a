package dev.bucketflow.backfill;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.Evaluator;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import dev.bucketflow.testing.Engines;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/** Direct-SQL data for backfill tests (much faster than the ingest path) and the expectations. */
final class BackfillFixture {

  static final List<String> PLANS = List.of("free", "trial", "pro");
  static final List<String> EVENTS = List.of("key_action", "app.active", "signup");

  private final DSLContext dsl;

  BackfillFixture(DSLContext dsl) {
    this.dsl = dsl;
  }

  static void reset(DSLContext dsl) {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, rejected_events, ingest_batches, bucket_memberships, "
            + "bucket_transitions, bucket_configs, bucket_backfill_jobs, journey_states");
  }

  void contact(String id, String propsJson) {
    var c = CONTACTS;
    dsl.insertInto(c, c.EXTERNAL_ID, c.EMAIL, c.PROPERTIES)
        .values(id, id + "@example.com", org.jooq.JSONB.valueOf(propsJson))
        .execute();
  }

  void delete(String id, Instant at) {
    dsl.update(CONTACTS).set(CONTACTS.DELETED_AT, at).where(CONTACTS.EXTERNAL_ID.eq(id)).execute();
  }

  void events(String user, String event, Instant... at) {
    // Through the production writer: the all-time rollups are part of what an event leaves behind.
    List<dev.bucketflow.event.EventLog.Entry> rows = new java.util.ArrayList<>();
    for (Instant t : at)
      rows.add(new dev.bucketflow.event.EventLog.Entry(user, event, "{}", t, t, null));
    dev.bucketflow.event.EventLog.append(dsl, rows);
  }

  /**
   * {@code n} contacts {@code <prefix>NNN} with a random plan, and 0–12 random events each within
   * the 45 days before {@code now}; every {@code deleteEvery}-th is soft-deleted (0 = none).
   */
  void randomUsers(String prefix, int n, long seed, Instant now, int deleteEvery) {
    Random random = new Random(seed);
    for (int i = 0; i < n; i++) {
      String id = String.format("%s%03d", prefix, i);
      contact(id, "{\"plan\":\"" + PLANS.get(random.nextInt(PLANS.size())) + "\"}");
      int count = random.nextInt(13);
      for (int k = 0; k < count; k++) {
        String event = EVENTS.get(random.nextInt(EVENTS.size()));
        events(id, event, now.minus(Duration.ofMinutes(random.nextInt(45 * 24 * 60))));
      }
      if (deleteEvery > 0 && i % deleteEvery == deleteEvery - 1)
        delete(id, now.minus(Duration.ofDays(1)));
    }
  }

  Set<String> liveContacts() {
    return new TreeSet<>(
        dsl.select(CONTACTS.EXTERNAL_ID)
            .from(CONTACTS)
            .where(CONTACTS.DELETED_AT.isNull())
            .fetch(CONTACTS.EXTERNAL_ID));
  }

  Set<String> deletedContacts() {
    return new TreeSet<>(
        dsl.select(CONTACTS.EXTERNAL_ID)
            .from(CONTACTS)
            .where(CONTACTS.DELETED_AT.isNotNull())
            .fetch(CONTACTS.EXTERNAL_ID));
  }

  /** States of every live contact, loaded like the engine does. */
  Map<String, UserState> states(BucketDefinition bucket, Instant now) {
    return new UserStates(new EventHistoryLoader()).load(dsl, liveContacts(), bucket, now);
  }

  /** The live contacts the in-memory evaluator says match. */
  Set<String> expectedMembers(BucketDefinition bucket, Instant now) {
    return states(bucket, now).entrySet().stream()
        .filter(e -> Evaluator.matches(bucket.criteria(), e.getValue(), now))
        .map(Map.Entry::getKey)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  Set<String> activeMembers(String bucketId) {
    var m = BUCKET_MEMBERSHIPS;
    return new TreeSet<>(
        dsl.select(m.USER_ID)
            .from(m)
            .where(
                m.BUCKET_ID
                    .eq(bucketId)
                    .and(m.STATUS.eq(MembershipStatus.ACTIVE))
                    .and(m.DELETED_AT.isNull()))
            .fetch(m.USER_ID));
  }

  /** Users with more than one active row in the bucket (must be none). */
  List<String> duplicateActives(String bucketId) {
    var m = BUCKET_MEMBERSHIPS;
    return dsl.select(m.USER_ID)
        .from(m)
        .where(m.BUCKET_ID.eq(bucketId).and(m.STATUS.eq(MembershipStatus.ACTIVE)))
        .groupBy(m.USER_ID)
        .having(DSL.count().gt(1))
        .fetch(m.USER_ID);
  }

  int bucketUserEvents(String like) {
    return dsl.fetchCount(USER_EVENTS, USER_EVENTS.EVENT.like(like));
  }

  static BackfillService service(
      DSLContext dsl, List<BucketDefinition> buckets, Clock clock, int chunk) {
    return new BackfillService(
        dsl,
        Engines.catalog(dsl, buckets),
        new UserStates(new EventHistoryLoader()),
        TransitionWriter.withoutGenericEvents(),
        clock,
        chunk);
  }

  /**
   * Runs a job to its end through the service, as the workflow would. Returns the number of chunks.
   */
  static int runToEnd(BackfillService service, BackfillJob job) {
    int chunks = 0;
    while (true) {
      chunks++;
      if (service.runChunk(job.id()).done()) break;
    }
    service.complete(job.id());
    return chunks;
  }
}
