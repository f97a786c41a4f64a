package dev.bucketflow.membership;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.any;
import static dev.bucketflow.bucket.Criteria.event;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketRegistry;
import dev.bucketflow.bucket.CountOperator;
import dev.bucketflow.bucket.Criterion;
import dev.bucketflow.bucket.Evaluator;
import dev.bucketflow.bucket.EventSeries;
import dev.bucketflow.bucket.NextFlip;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ingest path's bounded history ({@link EventHistoryLoader#loadBounded}: newest N+1 times per
 * window, all-time counts up to a cap) must give the evaluator and NextFlip exactly what the full
 * history ({@link EventHistoryLoader#load}) gives: same verdict and same next flip, for random
 * users (chatty ones far past every cap, ties, future-dated times) and random buckets, at the load
 * instant and at later ones, before and after the batch records more events in memory (older than
 * every listed time, inside and outside the window, and newer). Fails if the bounded load drops an
 * occurrence either needs.
 */
class BoundedHistoryTest {

  static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
  static final List<String> EVENTS = List.of("a", "b", "c");
  static final List<Duration> WINDOWS =
      List.of(Duration.ofHours(6), Duration.ofDays(1), Duration.ofDays(7), Duration.ofDays(30));
  static TestDatabase db;
  static final List<String> USERS = new ArrayList<>();

  @BeforeAll
  static void seed() {
    db = TestDatabase.fresh();
    Random r = new Random(13);
    DSLContext dsl = db.dsl();
    List<dev.bucketflow.event.EventLog.Entry> rows = new ArrayList<>();
    for (int u = 0; u < 60; u++) {
      String user = "u" + u;
      USERS.add(user);
      for (String name : EVENTS) {
        int n =
            switch (r.nextInt(4)) {
              case 0 -> 0;
              case 1 -> 1 + r.nextInt(3);
              case 2 -> 4 + r.nextInt(8);
              default -> 20 + r.nextInt(60);
            };
        Instant last = null;
        for (int i = 0; i < n; i++) {
          // Mostly inside 40 days, some at the same instant as the previous one, a few in the
          // future.
          Instant at =
              last != null && r.nextInt(6) == 0
                  ? last
                  : NOW.minusMillis((long) (r.nextDouble() * Duration.ofDays(40).toMillis()))
                      .plusMillis(r.nextInt(20) == 0 ? Duration.ofDays(2).toMillis() : 0);
          last = at;
          rows.add(new dev.bucketflow.event.EventLog.Entry(user, name, "{}", at, at, null));
        }
      }
    }
    dev.bucketflow.event.EventLog.append(dsl, rows);
  }

  @AfterAll
  static void close() {
    db.close();
  }

  @Test
  void boundedHistoryGivesTheSameVerdictsAndFlipsAsTheFullOne() {
    Random r = new Random(7);
    EventHistoryLoader loader = new EventHistoryLoader();
    int compared = 0;
    int bounded = 0;
    for (int round = 0; round < 40; round++) {
      List<BucketDefinition> buckets = randomBuckets(r, "b" + round, 1 + r.nextInt(3));
      Map<String, Map<String, EventSeries>> full =
          loader.load(db.dsl(), USERS, BucketRegistry.widestFiniteWindowByEvent(buckets), NOW);
      Map<String, Map<String, EventSeries>> less =
          loader.loadBounded(db.dsl(), USERS, buckets, NOW);
      for (String user : USERS) {
        assertThat(less.get(user).keySet()).isEqualTo(full.get(user).keySet());
        for (String name : full.get(user).keySet()) {
          if (less.get(user).get(name).timesNewestFirst().size()
                  < full.get(user).get(name).timesNewestFirst().size()
              || less.get(user).get(name).allTimeCount() < full.get(user).get(name).allTimeCount())
            bounded++;
        }
        UserState f = new UserState(null, full.get(user));
        UserState l = new UserState(null, less.get(user));
        for (int step = 0; step < 4; step++) {
          for (BucketDefinition bucket : buckets) {
            Criterion c = bucket.criteria();
            for (Instant at : List.of(NOW, NOW.plus(Duration.ofMinutes(r.nextInt(60 * 24 * 10))))) {
              String where =
                  user
                      + " "
                      + c
                      + " at "
                      + at
                      + " step "
                      + step
                      + "\nfull "
                      + full.get(user)
                      + "\nbounded "
                      + less.get(user);
              assertThat(Evaluator.matches(c, l, at))
                  .as(where)
                  .isEqualTo(Evaluator.matches(c, f, at));
              assertThat(NextFlip.next(c, l, at)).as(where).isEqualTo(NextFlip.next(c, f, at));
              compared++;
            }
          }
          // The batch records more events in memory: newer, old inside the window, before it.
          for (String name : full.get(user).keySet()) {
            for (int k = r.nextInt(3); k > 0; k--) {
              Instant at =
                  NOW.minusMillis((long) (r.nextDouble() * Duration.ofDays(35).toMillis()));
              if (r.nextBoolean()) at = NOW.minusMillis(r.nextInt(1000));
              f.recordEvent(name, at);
              l.recordEvent(name, at);
            }
          }
        }
      }
    }
    assertThat(compared).isGreaterThan(10_000);
    assertThat(bounded).as("some series are really bounded").isGreaterThan(100);
  }

  /**
   * The ingest path's per-user load: each user reads only its own buckets' events (the batch's
   * other buckets widen windows and caps, never the events). Each user's series are exactly the
   * events its buckets reference, and those buckets get the same verdicts and next flips as on the
   * full history; a user with no event-reading bucket gets an empty (but present) map.
   */
  @Test
  void perUserBoundedHistoryAnswersEachUsersOwnBucketsAsTheFullOne() {
    Random r = new Random(11);
    EventHistoryLoader loader = new EventHistoryLoader();
    int compared = 0;
    int narrowed = 0;
    for (int round = 0; round < 30; round++) {
      List<BucketDefinition> buckets = randomBuckets(r, "p" + round, 2 + r.nextInt(4));
      Map<String, List<BucketDefinition>> byUser = new java.util.LinkedHashMap<>();
      for (String user : USERS) {
        List<BucketDefinition> mine = new ArrayList<>();
        for (BucketDefinition b : buckets) if (r.nextInt(3) == 0) mine.add(b);
        byUser.put(user, mine);
      }
      Map<String, Map<String, EventSeries>> full =
          loader.load(db.dsl(), USERS, BucketRegistry.widestFiniteWindowByEvent(buckets), NOW);
      Map<String, Map<String, EventSeries>> mine = loader.loadBounded(db.dsl(), byUser, NOW);
      assertThat(mine.keySet()).isEqualTo(byUser.keySet());
      for (String user : USERS) {
        java.util.Set<String> referenced =
            new java.util.TreeSet<>(EventHistoryLoader.needs(byUser.get(user)).keySet());
        assertThat(mine.get(user).keySet()).as(user).isEqualTo(referenced);
        if (referenced.size() < full.get(user).size()) narrowed++;
        UserState f = new UserState(null, full.get(user));
        UserState l = new UserState(null, mine.get(user));
        for (BucketDefinition bucket : byUser.get(user)) {
          for (Instant at : List.of(NOW, NOW.plus(Duration.ofMinutes(r.nextInt(60 * 24 * 10))))) {
            String where = user + " " + bucket.criteria() + " at " + at;
            assertThat(Evaluator.matches(bucket.criteria(), l, at))
                .as(where)
                .isEqualTo(Evaluator.matches(bucket.criteria(), f, at));
            assertThat(NextFlip.next(bucket.criteria(), l, at))
                .as(where)
                .isEqualTo(NextFlip.next(bucket.criteria(), f, at));
            compared++;
          }
        }
      }
    }
    assertThat(compared).isGreaterThan(1_000);
    assertThat(narrowed)
        .as("users really read fewer events than the batch's buckets reference")
        .isGreaterThan(100);
  }

  /** {@code n} buckets {@code <prefix>-0 …} with random criteria of depth 2. */
  private static List<BucketDefinition> randomBuckets(Random r, String prefix, int n) {
    List<BucketDefinition> buckets = new ArrayList<>();
    for (int b = 0; b < n; b++) {
      buckets.add(
          BucketDefinition.builder(prefix + "-" + b).criteria(randomCriterion(r, 2)).build());
    }
    return buckets;
  }

  private static Criterion randomCriterion(Random r, int depth) {
    if (depth > 0 && r.nextInt(3) == 0) {
      Criterion x = randomCriterion(r, depth - 1);
      Criterion y = randomCriterion(r, depth - 1);
      return r.nextBoolean() ? all(x, y) : any(x, y);
    }
    var leg = event(EVENTS.get(r.nextInt(EVENTS.size())));
    if (r.nextInt(4) != 0) leg = leg.within(WINDOWS.get(r.nextInt(WINDOWS.size())));
    return switch (r.nextInt(5)) {
      case 0 -> leg.exists();
      case 1 -> leg.notExists();
      case 2 -> leg.count();
      default ->
          leg.count(
              CountOperator.values()[r.nextInt(CountOperator.values().length)],
              r.nextBoolean()
                  ? r.nextInt(8)
                  : 13 + r.nextInt(8)); // thresholds past the newest few too
    };
  }
}
