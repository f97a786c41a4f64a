package dev.bucketflow.reconcile;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;
import static dev.bucketflow.schema.Tables.USER_EVENT_ROLLUPS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketCriterion;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.CompositeCriterion;
import dev.bucketflow.bucket.CountOperator;
import dev.bucketflow.bucket.Criterion;
import dev.bucketflow.bucket.Evaluator;
import dev.bucketflow.bucket.EventCheck;
import dev.bucketflow.bucket.EventCriterion;
import dev.bucketflow.bucket.EventSeries;
import dev.bucketflow.bucket.Logic;
import dev.bucketflow.bucket.MembershipCheck;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.PropertyCriterion;
import dev.bucketflow.bucket.PropertyOperator;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.criteria.CriteriaSql;
import dev.bucketflow.db.Json;
import dev.bucketflow.event.EventLog;
import dev.bucketflow.event.EventPartitions;
import dev.bucketflow.testing.TestDatabase;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Differential test: {@link CriteriaSql#predicate} (run by PostgreSQL) must select exactly the
 * contacts for which {@link Evaluator#matches} is true (DESIGN §6), at a pinned instant.
 *
 * <ul>
 *   <li>{@link #randomTreesAgree}: per seed, ~60 adversarial users (3 vs 3.0 vs "3", true vs
 *       "true", JSON null vs missing, arrays/objects with 1 vs 1.0, big/negative/decimal numbers,
 *       substrings, odd key names) and event histories spread over ±40 days around {@code now},
 *       including future events and events exactly at / 1µs around window boundaries; then ~300
 *       random criteria trees (depth ≤ 3), compared user set by user set. The validator is
 *       deliberately not run: trees it would reject must agree too. Only trees the evaluator
 *       refuses by throwing (count with an operator but no value) are skipped.
 *   <li>{@link #tableCases}: hand-written cases for the tricky points of §6.
 *   <li>Regression tests named {@code regression_*}: minimal disagreements found by this test.
 * </ul>
 *
 * One database for the class; each seed loads its users once and then runs many queries. Random
 * users are prefixed {@code r-}, table-case users {@code t-}, regression users {@code x-}.
 */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(2)
class CriteriaSqlDifferentialTest {

  /** Pinned instant with a microsecond part (PostgreSQL's precision). */
  static final Instant NOW = Instant.parse("2026-03-15T12:00:00.123456Z");

  static final JsonNodeFactory F = JsonNodeFactory.instance;

  static final int USERS = 60;

  /** Event retention while the engines are compared: past the widest window (45 days). */
  static final Duration RETENTION = Duration.ofDays(46);

  static final int TREES = 300;

  static final List<String> KEYS =
      List.of("plan", "score", "flag", "tags", "meta", "it's", "a.b", "q?\\x");

  /** Property names in criteria: the user keys plus one nobody has. */
  static final List<String> CRITERIA_KEYS =
      Stream.concat(KEYS.stream(), Stream.of("nope")).toList();

  /**
   * Properties holding instants (ISO strings, epoch ms, junk), read by the date-relative operators.
   */
  /**
   * Buckets users are members of (with former epochs); a condition may also name one nobody is in.
   */
  static final List<String> BUCKET_REFS = List.of("vip", "power-users", "churned");

  static final List<String> CRITERIA_BUCKETS =
      Stream.concat(BUCKET_REFS.stream(), Stream.of("empty-bucket")).toList();
  static final List<String> DATE_KEYS = List.of("due", "when");
  static final List<String> EVENTS = List.of("login", "key_action", "purchase", "churn_signal");

  /** Event names in criteria: the generated ones plus one nobody has. */
  static final List<String> CRITERIA_EVENTS =
      Stream.concat(EVENTS.stream(), Stream.of("ghost")).toList();

  static final List<PropertyOperator> DATE_OPS =
      List.of(
          PropertyOperator.WITHIN_NEXT,
          PropertyOperator.WITHIN_LAST,
          PropertyOperator.MORE_THAN_AGO,
          PropertyOperator.MORE_THAN_AHEAD);

  static final List<Duration> WINDOWS =
      List.of(
          Duration.ofSeconds(3600),
          Duration.ofMinutes(90),
          Duration.ofHours(1),
          Duration.ofHours(6),
          Duration.ofHours(24),
          Duration.ofHours(36),
          Duration.ofDays(1),
          Duration.ofDays(2),
          Duration.ofDays(7),
          Duration.ofDays(14),
          Duration.ofDays(30),
          Duration.ofDays(40),
          Duration.ofDays(45));

  /** Adversarial JSON values, parsed with the production mapper (as ingest/reconcile read them). */
  static final List<JsonNode> VALUES =
      Stream.concat(
              Stream.of(
                      "3",
                      "3.0",
                      "\"3\"",
                      "\"3.0\"",
                      "true",
                      "\"true\"",
                      "false",
                      "null",
                      "\"trialist\"",
                      "\"trial\"",
                      "\"\"",
                      "\"Trial\"",
                      "\" trial\"",
                      "\"50%_off\"",
                      "\"tri\"",
                      "[1,2]",
                      "[1.0,2]",
                      "[2,1]",
                      "[3]",
                      "[]",
                      "[null]",
                      "{\"a\":1}",
                      "{\"a\":1.0}",
                      "{\"a\":1,\"b\":2}",
                      "{\"b\":2.0,\"a\":1}",
                      "{\"a\":\"1\"}",
                      "{}",
                      "{\"a\":[1,{\"b\":2.0}]}",
                      "{\"a\":[1.0,{\"b\":2}]}",
                      "-5",
                      "-5.0",
                      "-0.0",
                      "0",
                      "2",
                      "4",
                      "2.5",
                      "0.1",
                      "1e-7",
                      "1e20",
                      "100000000000000000000",
                      "123456789012345678901234567890",
                      "9223372036854775807",
                      "-9223372036854775808",
                      "-1e300")
                  .map(CriteriaSqlDifferentialTest::parse),
              Stream.of(F.numberNode(new BigDecimal("2.50")), F.numberNode(3L), F.numberNode(2.5f)))
          .toList();

  /** Extra operands for contains: substrings and LIKE metacharacters. */
  static final List<JsonNode> SUBSTRINGS =
      Stream.of("tri", "ial", "", "trial", "TRIAL", "%", "_", "3", "true", "ist")
          .<JsonNode>map(F::textNode)
          .toList();

  static TestDatabase db;
  static DSLContext dsl;

  @BeforeAll
  static void startDb() {
    db = TestDatabase.fresh();
    dsl = db.dsl();
  }

  @AfterAll
  static void closeDb() {
    if (db != null) db.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Random differential
  // ---------------------------------------------------------------------------------------------

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 42L, 20260315L, 7_777_777L, -3L})
  void randomTreesAgree(long seed) {
    Random rnd = new Random(seed);
    Map<String, User> users = randomUsers(rnd, "r-");
    load(users, "r-");
    Map<String, UserState> fromDb = loadBack(users.keySet());

    List<String> failures = new ArrayList<>();
    int compared = 0;
    int skipped = 0;
    int nonTrivial = 0;
    Set<PropertyOperator> propOps = EnumSet.noneOf(PropertyOperator.class);
    Set<String> bucketChecks = new TreeSet<>();
    Set<String> eventShapes = new TreeSet<>();
    int flipsChecked = 0;
    int joinFlips = 0;
    int sqlFlipChecks = 0;
    for (int i = 0; i < TREES; i++) {
      Criterion c = randomTree(rnd, 0, true);
      if (refusedByEvaluator(c)) {
        skipped++;
        continue;
      }
      compared++;
      c.walk()
          .forEach(
              n -> {
                if (n instanceof PropertyCriterion p) propOps.add(p.operator());
                if (n instanceof BucketCriterion b)
                  bucketChecks.add(b.check() + (depthOf(c, n) > 0 ? "-nested" : ""));
                if (n instanceof EventCriterion e) {
                  eventShapes.add(
                      e.check().json()
                          + (e.operator() == null ? "" : ":" + e.operator().json())
                          + (e.within() == null ? "" : "+within"));
                }
              });
      Set<String> expected = evaluate(c, users, NOW);
      if (!expected.isEmpty() && expected.size() < users.size()) nonTrivial++;
      Set<String> fromDbExpected = evaluateStates(c, fromDb, NOW);
      if (!fromDbExpected.equals(expected)) {
        failures.add(
            "evaluator disagrees with itself after a DB round trip for " + BucketJson.toJson(c));
        continue;
      }
      String mismatch = compare(c, users, NOW, "r-");
      if (mismatch != null) failures.add(mismatch);
      // Next flip: the verdict holds 1 ms before it and differs at it, for the evaluator and,
      // for a sample, for the SQL too (one query per instant, so not for every pair).
      for (var u : fromDb.entrySet()) {
        boolean current = expected.contains(u.getKey());
        var flip = dev.bucketflow.bucket.NextFlip.next(c, u.getValue(), NOW);
        if (flip.isEmpty()) continue;
        flipsChecked++;
        if (!current) joinFlips++;
        Instant at = flip.get();
        Instant before = at.minusMillis(1).isAfter(NOW) ? at.minusMillis(1) : NOW;
        boolean sampled = sqlFlipChecks < 60 && rnd.nextInt(8) == 0;
        if (sampled) sqlFlipChecks++;
        for (Instant x : List.of(before, at)) {
          boolean want = x.equals(at) != current;
          boolean eval = Evaluator.matches(c, u.getValue(), x);
          String where =
              u.getKey()
                  + " at "
                  + x
                  + " (flip "
                  + at
                  + ", now "
                  + current
                  + ") for "
                  + BucketJson.toJson(c)
                  + " data "
                  + users.get(u.getKey()).describe(c);
          if (eval != want) failures.add("next-flip: evaluator says " + eval + " for " + where);
          if (sampled) {
            boolean viaSql = sqlMatches(c, u.getKey(), x);
            if (viaSql != want) failures.add("next-flip: SQL says " + viaSql + " for " + where);
          }
        }
      }
      if (failures.size() >= 5) break;
    }
    System.out.printf(
        "[CriteriaSqlDifferentialTest] seed %d: %d flip instants checked (%d joins), %d of them in SQL%n",
        seed, flipsChecked, joinFlips, sqlFlipChecks);

    System.out.printf(
        "[CriteriaSqlDifferentialTest] seed %d: %d trees compared, %d skipped (count+op without value),"
            + " %d with a non-trivial user set, %d disagreements%n",
        seed, compared, skipped, nonTrivial, failures.size());
    if (!failures.isEmpty()) {
      fail(
          failures.size()
              + " disagreement(s) between CriteriaSql and Evaluator (seed "
              + seed
              + "):\n\n"
              + String.join("\n\n", failures));
    }
    // The generator really covers the space (guards against a silently degenerate generator).
    assertThat(propOps).containsExactlyInAnyOrder(PropertyOperator.values());
    assertThat(bucketChecks)
        .as("bucket conditions, at the root and nested")
        .contains("MEMBER-nested", "NOT_MEMBER-nested");
    assertThat(eventShapes)
        .contains(
            "exists",
            "not_exists",
            "count",
            "count:gt",
            "count:gte",
            "count:lt",
            "count:lte",
            "count:eq",
            "exists+within",
            "not_exists+within",
            "count:gte+within",
            "count+within");
    assertThat(nonTrivial).as("trees selecting some but not all users").isGreaterThan(compared / 5);
    assertThat(joinFlips)
        .as("join instants (false -> true by the clock) are exercised")
        .isGreaterThan(20);
  }

  // ---------------------------------------------------------------------------------------------
  // Hand-written table
  // ---------------------------------------------------------------------------------------------

  static final Instant BOUNDARY_7D = NOW.minus(Duration.ofDays(7));

  static Stream<Arguments> tableCases() {
    Instant usec = Instant.ofEpochSecond(0, 1000);
    return Stream.of(
        // eq: numbers numerically, otherwise type-strict
        tc("3 eq 3.0", prop("score", PropertyOperator.EQ, "3.0"), "{\"score\":3}", none(), true),
        tc("3.0 eq 3", prop("score", PropertyOperator.EQ, "3"), "{\"score\":3.0}", none(), true),
        tc(
            "2.50 (decimal) eq 2.5",
            new PropertyCriterion(
                "score", PropertyOperator.EQ, F.numberNode(new BigDecimal("2.50"))),
            "{\"score\":2.5}",
            none(),
            true),
        tc(
            "\"3\" eq 3 is false",
            prop("score", PropertyOperator.EQ, "3"),
            "{\"score\":\"3\"}",
            none(),
            false),
        tc(
            "3 eq \"3\" is false",
            prop("score", PropertyOperator.EQ, "\"3\""),
            "{\"score\":3}",
            none(),
            false),
        tc(
            "\"true\" eq true is false",
            prop("flag", PropertyOperator.EQ, "true"),
            "{\"flag\":\"true\"}",
            none(),
            false),
        tc(
            "true eq true",
            prop("flag", PropertyOperator.EQ, "true"),
            "{\"flag\":true}",
            none(),
            true),
        tc(
            "null eq null",
            prop("flag", PropertyOperator.EQ, "null"),
            "{\"flag\":null}",
            none(),
            true),
        tc(
            "missing eq null is false",
            prop("flag", PropertyOperator.EQ, "null"),
            "{}",
            none(),
            false),
        tc(
            "[1,2] eq [1.0,2]",
            prop("tags", PropertyOperator.EQ, "[1.0,2]"),
            "{\"tags\":[1,2]}",
            none(),
            true),
        tc(
            "[2,1] eq [1,2] is false",
            prop("tags", PropertyOperator.EQ, "[1,2]"),
            "{\"tags\":[2,1]}",
            none(),
            false),
        tc(
            "[3] eq 3 is false",
            prop("tags", PropertyOperator.EQ, "3"),
            "{\"tags\":[3]}",
            none(),
            false),
        tc(
            "{a:1} eq {a:1.0}",
            prop("meta", PropertyOperator.EQ, "{\"a\":1.0}"),
            "{\"meta\":{\"a\":1}}",
            none(),
            true),
        tc(
            "{a:\"1\"} eq {a:1} is false",
            prop("meta", PropertyOperator.EQ, "{\"a\":1}"),
            "{\"meta\":{\"a\":\"1\"}}",
            none(),
            false),
        tc(
            "1e20 eq 100000000000000000000",
            prop("score", PropertyOperator.EQ, "1e20"),
            "{\"score\":100000000000000000000}",
            none(),
            true),
        tc(
            "odd key name it's",
            prop("it's", PropertyOperator.EQ, "\"x\""),
            "{\"it's\":\"x\"}",
            none(),
            true),
        // neq
        tc(
            "neq on missing is true",
            prop("plan", PropertyOperator.NEQ, "\"trial\""),
            "{}",
            none(),
            true),
        tc(
            "neq null on missing is true",
            prop("plan", PropertyOperator.NEQ, "null"),
            "{}",
            none(),
            true),
        tc(
            "3 neq 3.0 is false",
            prop("score", PropertyOperator.NEQ, "3.0"),
            "{\"score\":3}",
            none(),
            false),
        tc(
            "\"3\" neq 3 is true",
            prop("score", PropertyOperator.NEQ, "3"),
            "{\"score\":\"3\"}",
            none(),
            true),
        tc(
            "null neq null is false",
            prop("plan", PropertyOperator.NEQ, "null"),
            "{\"plan\":null}",
            none(),
            false),
        // ordering: numbers only
        tc(
            "3 gt \"2\" is false",
            prop("score", PropertyOperator.GT, "\"2\""),
            "{\"score\":3}",
            none(),
            false),
        tc(
            "\"3\" gt 2 is false",
            prop("score", PropertyOperator.GT, "2"),
            "{\"score\":\"3\"}",
            none(),
            false),
        tc(
            "2.5 gte 2.50",
            new PropertyCriterion(
                "score", PropertyOperator.GTE, F.numberNode(new BigDecimal("2.50"))),
            "{\"score\":2.5}",
            none(),
            true),
        tc(
            "-5 lt -4.9",
            prop("score", PropertyOperator.LT, "-4.9"),
            "{\"score\":-5}",
            none(),
            true),
        tc(
            "huge gt 1e20",
            prop("score", PropertyOperator.GT, "1e20"),
            "{\"score\":123456789012345678901234567890}",
            none(),
            true),
        tc(
            "true lte 1 is false",
            prop("flag", PropertyOperator.LTE, "1"),
            "{\"flag\":true}",
            none(),
            false),
        tc("missing lt 1 is false", prop("score", PropertyOperator.LT, "1"), "{}", none(), false),
        // exists
        tc(
            "exists on JSON null is false",
            prop("plan", PropertyOperator.EXISTS, null),
            "{\"plan\":null}",
            none(),
            false),
        tc(
            "not_exists on JSON null is true",
            prop("plan", PropertyOperator.NOT_EXISTS, null),
            "{\"plan\":null}",
            none(),
            true),
        tc(
            "not_exists on missing is true",
            prop("plan", PropertyOperator.NOT_EXISTS, null),
            "{}",
            none(),
            true),
        tc(
            "exists on false is true",
            prop("flag", PropertyOperator.EXISTS, null),
            "{\"flag\":false}",
            none(),
            true),
        // contains: strings only, substring, literal
        tc(
            "contains trial in trialist",
            prop("plan", PropertyOperator.CONTAINS, "\"trial\""),
            "{\"plan\":\"trialist\"}",
            none(),
            true),
        tc(
            "contains is case-sensitive",
            prop("plan", PropertyOperator.CONTAINS, "\"TRIAL\""),
            "{\"plan\":\"trialist\"}",
            none(),
            false),
        tc(
            "contains \"\" in \"\"",
            prop("plan", PropertyOperator.CONTAINS, "\"\""),
            "{\"plan\":\"\"}",
            none(),
            true),
        tc(
            "contains on a number is false",
            prop("score", PropertyOperator.CONTAINS, "\"3\""),
            "{\"score\":3}",
            none(),
            false),
        tc(
            "contains on an array is false",
            prop("tags", PropertyOperator.CONTAINS, "\"trial\""),
            "{\"tags\":[\"trial\"]}",
            none(),
            false),
        tc(
            "contains on true is false",
            prop("flag", PropertyOperator.CONTAINS, "\"true\""),
            "{\"flag\":true}",
            none(),
            false),
        tc(
            "contains a number operand is false",
            prop("plan", PropertyOperator.CONTAINS, "3"),
            "{\"plan\":\"3\"}",
            none(),
            false),
        tc(
            "contains % is literal",
            prop("plan", PropertyOperator.CONTAINS, "\"%\""),
            "{\"plan\":\"trial\"}",
            none(),
            false),
        // events: window is occurredAt > now - within, no upper bound
        tc(
            "boundary event is outside the window",
            ev("login", EventCheck.EXISTS, null, null, Duration.ofDays(7)),
            "{}",
            events("login", BOUNDARY_7D),
            false),
        tc(
            "1us after the boundary is inside",
            ev("login", EventCheck.EXISTS, null, null, Duration.ofDays(7)),
            "{}",
            events("login", BOUNDARY_7D.plus(Duration.ofNanos(1000))),
            true),
        tc(
            "windowed not_exists with only the boundary event",
            ev("login", EventCheck.NOT_EXISTS, null, null, Duration.ofDays(7)),
            "{}",
            events("login", BOUNDARY_7D),
            true),
        tc(
            "future event counts (no upper bound)",
            ev("login", EventCheck.COUNT, CountOperator.EQ, 2L, Duration.ofHours(1)),
            "{}",
            events("login", NOW.plus(Duration.ofDays(5)), NOW.minus(Duration.ofMinutes(59))),
            true),
        tc(
            "count without operator = count > 0 (one event)",
            ev("login", EventCheck.COUNT, null, null, null),
            "{}",
            events("login", NOW.minus(Duration.ofDays(30))),
            true),
        tc(
            "count without operator = count > 0 (none)",
            ev("login", EventCheck.COUNT, null, null, null),
            "{}",
            events("purchase", NOW),
            false),
        tc(
            "count without operator but a value = count > 0",
            ev("login", EventCheck.COUNT, null, 5L, null),
            "{}",
            events("login", NOW),
            true),
        tc(
            "count lt 1 with no events at all",
            ev("login", EventCheck.COUNT, CountOperator.LT, 1L, null),
            "{}",
            none(),
            true),
        tc(
            "count eq 0 with no events at all",
            ev("login", EventCheck.COUNT, CountOperator.EQ, 0L, Duration.ofDays(1)),
            "{}",
            none(),
            true),
        tc(
            "count gte 0 with no events at all",
            ev("login", EventCheck.COUNT, CountOperator.GTE, 0L, null),
            "{}",
            none(),
            true),
        tc(
            "count lte 2 with 3 events is false",
            ev("login", EventCheck.COUNT, CountOperator.LTE, 2L, null),
            "{}",
            events("login", NOW, NOW, NOW.minus(Duration.ofDays(39))),
            false),
        tc(
            "duplicate instants both count",
            ev("login", EventCheck.COUNT, CountOperator.EQ, 2L, Duration.ofDays(1)),
            "{}",
            events("login", NOW.minusSeconds(5), NOW.minusSeconds(5)),
            true),
        tc(
            "count gt 1 ignores other events",
            ev("login", EventCheck.COUNT, CountOperator.GT, 1L, null),
            "{}",
            events("login", NOW, "purchase", NOW),
            false),
        tc(
            "exists ignores a stray operator",
            ev("login", EventCheck.EXISTS, CountOperator.GT, 3L, null),
            "{}",
            events("login", NOW),
            true),
        // composites
        tc(
            "and of property and window",
            new CompositeCriterion(
                Logic.AND,
                List.of(
                    prop("plan", PropertyOperator.EQ, "\"trial\""),
                    ev(
                        "key_action",
                        EventCheck.COUNT,
                        CountOperator.GTE,
                        2L,
                        Duration.ofDays(30)))),
            "{\"plan\":\"trial\"}",
            events("key_action", NOW.minus(Duration.ofDays(29)), NOW.minus(Duration.ofDays(31))),
            false),
        tc(
            "or with one true leg",
            new CompositeCriterion(
                Logic.OR,
                List.of(
                    prop("plan", PropertyOperator.EQ, "\"paid\""),
                    ev("ghost", EventCheck.NOT_EXISTS, null, null, null))),
            "{\"plan\":\"trial\"}",
            none(),
            true),
        // date-relative: boundaries (now <= t <= now + d etc.), spellings, junk
        tc(
            "within_next: t = now",
            date("due", PropertyOperator.WITHIN_NEXT, "P3D"),
            dateProps(NOW.toString()),
            none(),
            true),
        tc(
            "within_next: t = now - 1us",
            date("due", PropertyOperator.WITHIN_NEXT, "P3D"),
            dateProps(NOW.minusNanos(1000).toString()),
            none(),
            false),
        tc(
            "within_next: t = now + d",
            date("due", PropertyOperator.WITHIN_NEXT, "P3D"),
            dateProps(NOW.plus(Duration.ofDays(3)).toString()),
            none(),
            true),
        tc(
            "within_next: t = now + d + 1us",
            date("due", PropertyOperator.WITHIN_NEXT, "P3D"),
            dateProps(NOW.plus(Duration.ofDays(3)).plusNanos(1000).toString()),
            none(),
            false),
        tc(
            "within_next: 9 fraction digits truncate",
            date("due", PropertyOperator.WITHIN_NEXT, "P3D"),
            "{\"due\":\"2026-03-15T12:00:00.123456999Z\"}",
            none(),
            true),
        tc(
            "within_next: epoch ms one ms ahead",
            date("due", PropertyOperator.WITHIN_NEXT, "P3D"),
            "{\"due\":" + (NOW.toEpochMilli() + 1) + "}",
            none(),
            true),
        tc(
            "within_next: epoch ms truncated below now",
            date("due", PropertyOperator.WITHIN_NEXT, "P3D"),
            "{\"due\":" + NOW.toEpochMilli() + "}",
            none(),
            false),
        tc(
            "within_last: t = now - d",
            date("due", PropertyOperator.WITHIN_LAST, "PT36H"),
            dateProps(NOW.minus(Duration.ofHours(36)).toString()),
            none(),
            true),
        tc(
            "within_last: offset spelling",
            date("due", PropertyOperator.WITHIN_LAST, "PT1H"),
            "{\"due\":\"2026-03-15T17:00:00.123456+05:30\"}",
            none(),
            true),
        tc(
            "more_than_ago: exactly d ago is false",
            date("due", PropertyOperator.MORE_THAN_AGO, "P1D"),
            dateProps(NOW.minus(Duration.ofDays(1)).toString()),
            none(),
            false),
        tc(
            "more_than_ago: 1us more",
            date("due", PropertyOperator.MORE_THAN_AGO, "P1D"),
            dateProps(NOW.minus(Duration.ofDays(1)).minusNanos(1000).toString()),
            none(),
            true),
        tc(
            "more_than_ahead: exactly d ahead is false",
            date("due", PropertyOperator.MORE_THAN_AHEAD, "P1D"),
            dateProps(NOW.plus(Duration.ofDays(1)).toString()),
            none(),
            false),
        tc(
            "more_than_ahead: zero duration = in the future",
            date("due", PropertyOperator.MORE_THAN_AHEAD, "PT0S"),
            dateProps(NOW.plusNanos(1000).toString()),
            none(),
            true),
        tc(
            "Feb 30 is no instant",
            date("due", PropertyOperator.MORE_THAN_AGO, "PT0S"),
            "{\"due\":\"2026-02-30T00:00:00Z\"}",
            none(),
            false),
        tc(
            "missing is false",
            date("due", PropertyOperator.MORE_THAN_AGO, "PT0S"),
            "{}",
            none(),
            false),
        tc(
            "in: 3.0 in [1, 3]",
            prop("score", PropertyOperator.IN, "[1,3]"),
            "{\"score\":3.0}",
            none(),
            true),
        tc(
            "in: missing in [null] is false",
            prop("score", PropertyOperator.IN, "[null]"),
            "{}",
            none(),
            false),
        tc(
            "in: null in [null]",
            prop("score", PropertyOperator.IN, "[null]"),
            "{\"score\":null}",
            none(),
            true),
        tc(
            "not_in: missing is true",
            prop("score", PropertyOperator.NOT_IN, "[1,3]"),
            "{}",
            none(),
            true),
        tc(
            "not_in: [] holds for all",
            prop("score", PropertyOperator.NOT_IN, "[]"),
            "{\"score\":1}",
            none(),
            true),
        tc(
            "(sanity) epoch + 1us",
            ev("login", EventCheck.EXISTS, null, null, null),
            "{}",
            events("login", usec),
            true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void tableCases(String name, Criterion criterion, User user, boolean expected) {
    String id = "t-" + Integer.toHexString(name.hashCode());
    Map<String, User> users = Map.of(id, user);
    load(users, id);
    assertThat(Evaluator.matches(criterion, user.state(), NOW))
        .as("evaluator: " + name)
        .isEqualTo(expected);
    assertThat(sqlMatches(criterion, id, NOW))
        .as("SQL: " + name + " " + BucketJson.toJson(criterion))
        .isEqualTo(expected);
  }

  // ---------------------------------------------------------------------------------------------
  // Empty composites (validation rejects them; the compiler must still agree with the evaluator:
  // AND of nothing is true, OR of nothing is false). These pass because jOOQ 3.19 renders
  // DSL.and()/DSL.or() of an empty list as TRUE/FALSE rather than dropping them as noCondition().
  // ---------------------------------------------------------------------------------------------

  @Test
  void emptyOrIsFalse() {
    assertAgreesOnOneUser(
        new CompositeCriterion(Logic.OR, List.of()), "x-empty-or", "{}", none(), false);
  }

  @Test
  void emptyAndIsTrue() {
    assertAgreesOnOneUser(
        new CompositeCriterion(Logic.AND, List.of()), "x-empty-and", "{}", none(), true);
  }

  @Test
  void emptyAndInsideOrIsTrue() {
    Criterion c =
        new CompositeCriterion(
            Logic.OR,
            List.of(
                prop("plan", PropertyOperator.EQ, "\"paid\""),
                new CompositeCriterion(Logic.AND, List.of())));
    assertAgreesOnOneUser(c, "x-empty-and-in-or", "{}", none(), true);
  }

  @Test
  void emptyOrInsideAndIsFalse() {
    Criterion c =
        new CompositeCriterion(
            Logic.AND,
            List.of(
                prop("plan", PropertyOperator.NOT_EXISTS, null),
                new CompositeCriterion(Logic.OR, List.of())));
    assertAgreesOnOneUser(c, "x-empty-or-in-and", "{}", none(), false);
  }

  // ---------------------------------------------------------------------------------------------
  // Regressions: minimal disagreements found while writing this test. They fail until
  // CriteriaSql is fixed (see each comment for the evaluator-side truth from DESIGN §6).
  // ---------------------------------------------------------------------------------------------

  /**
   * {@code now} comes from {@code Clock.systemUTC()}, which has nanosecond precision on Linux;
   * occurred_at is stored with microseconds. With now = 12:00:00.000000600 and within = 1 day the
   * window is {@code occurredAt > 12:00:00.000000600} the day before, so an event at
   * 12:00:00.000001 is inside (evaluator: true). CriteriaSql binds {@code now.minus(within)}, which
   * is rounded to 12:00:00.000001 on the way to timestamptz, and {@code occurred_at > bound} then
   * excludes the event. Fix: bind {@code now.minus(within).truncatedTo(ChronoUnit.MICROS)} (for
   * µs-precision rows, {@code t > x} iff {@code t > floor_µs(x)}).
   */
  @Test
  void regression_subMicrosecondNowKeepsEventJustInsideWindow() {
    Instant now = Instant.parse("2026-03-15T12:00:00Z").plusNanos(600);
    Instant justInside = Instant.parse("2026-03-14T12:00:00.000001Z");
    assertAgreesAt(
        now,
        ev("login", EventCheck.EXISTS, null, null, Duration.ofDays(1)),
        "x-sub-us-now",
        "{}",
        events("login", justInside),
        true);
  }

  /**
   * Same rounding, reached through a window with a sub-microsecond part ("PT23H59M59.9999994S").
   */
  @Test
  void regression_subMicrosecondWindowKeepsEventJustInsideWindow() {
    Instant now = Instant.parse("2026-03-15T12:00:00Z");
    Instant justInside = Instant.parse("2026-03-14T12:00:00.000001Z");
    assertAgreesAt(
        now,
        ev("login", EventCheck.COUNT, CountOperator.EQ, 1L, Duration.ofDays(1).minusNanos(600)),
        "x-sub-us-window",
        "{}",
        events("login", justInside),
        true);
  }

  /**
   * A count against {@code Long.MAX_VALUE} passes validation (non-negative), and the evaluator
   * answers it (0 < MAX). CriteriaSql computes {@code limit(n + 1)}, which overflows to
   * Long.MIN_VALUE: PostgreSQL rejects the query ("LIMIT must not be negative").
   */
  @Test
  void regression_countAgainstLongMaxValue() {
    assertAgreesOnOneUser(
        ev("login", EventCheck.COUNT, CountOperator.LT, Long.MAX_VALUE, null),
        "x-count-max",
        "{}",
        events("login", NOW),
        true);
  }

  /**
   * A negative count threshold (validation rejects it, the evaluator answers it: 1 > -2) makes
   * {@code limit(n + 1)} negative and the query fails.
   */
  @Test
  void regression_countAgainstNegativeValue() {
    assertAgreesOnOneUser(
        ev("login", EventCheck.COUNT, CountOperator.GT, -2L, null),
        "x-count-neg",
        "{}",
        events("login", NOW),
        true);
  }

  /**
   * An operand with a NUL character: nobody can hold it (jsonb rejects \\u0000), so eq is false and
   * neq true for the evaluator, but PostgreSQL rejects the {@code '"\\u0000"'::jsonb} literal
   * ("unsupported Unicode escape sequence") and the whole query fails.
   */
  @Test
  void regression_neqNulStringOperand() {
    assertAgreesOnOneUser(
        new PropertyCriterion("plan", PropertyOperator.NEQ, F.textNode("a\0b")),
        "x-nul-neq",
        "{\"plan\":\"ab\"}",
        none(),
        true);
  }

  /** As above for contains: the NUL in the bound text parameter is rejected by PostgreSQL. */
  @Test
  void regression_containsNulStringOperand() {
    assertAgreesOnOneUser(
        new PropertyCriterion("plan", PropertyOperator.CONTAINS, F.textNode("\0")),
        "x-nul-contains",
        "{\"plan\":\"ab\"}",
        none(),
        false);
  }

  void assertAgreesOnOneUser(
      Criterion c, String id, String props, Map<String, List<Instant>> events, boolean expected) {
    assertAgreesAt(NOW, c, id, props, events, expected);
  }

  void assertAgreesAt(
      Instant now,
      Criterion c,
      String id,
      String props,
      Map<String, List<Instant>> events,
      boolean expected) {
    User user = new User(obj(props), events);
    load(Map.of(id, user), id);
    assertThat(Evaluator.matches(c, user.state(), now)).as("evaluator").isEqualTo(expected);
    boolean sql;
    try {
      sql = sqlMatches(c, id, now);
    } catch (RuntimeException e) {
      throw new AssertionError(
          "SQL failed for "
              + BucketJson.toJson(c)
              + " at now="
              + now
              + " (evaluator says "
              + expected
              + "): "
              + e.getMessage(),
          e);
    }
    assertThat(sql).as("SQL for " + BucketJson.toJson(c) + " at now=" + now).isEqualTo(expected);
  }

  // ---------------------------------------------------------------------------------------------
  // Data
  // ---------------------------------------------------------------------------------------------

  /** A user's generated truth: properties and every occurrence (microsecond precision). */
  record User(ObjectNode properties, Map<String, List<Instant>> events, Set<String> memberships) {
    User(ObjectNode properties, Map<String, List<Instant>> events) {
      this(properties, events, Set.of());
    }

    UserState state() {
      Map<String, EventSeries> series = new HashMap<>();
      events.forEach((name, times) -> series.put(name, EventSeries.of(times)));
      UserState state = new UserState(properties, series);
      memberships.forEach(b -> state.setMember(b, true));
      return state;
    }

    /** Properties and the occurrences of the events the criterion names. */
    String describe(Criterion c) {
      Set<String> named =
          c.walk()
              .filter(n -> n instanceof EventCriterion)
              .map(n -> ((EventCriterion) n).eventName())
              .collect(Collectors.toSet());
      Map<String, List<Instant>> sorted = new TreeMap<>();
      events.forEach(
          (k, v) -> {
            if (named.contains(k)) sorted.put(k, v.stream().sorted().toList());
          });
      return properties + " events " + sorted + " member of " + new TreeSet<>(memberships);
    }
  }

  static Map<String, User> randomUsers(Random rnd, String prefix) {
    Map<String, User> users = new LinkedHashMap<>();
    for (int u = 0; u < USERS; u++) {
      ObjectNode props = F.objectNode();
      for (String key : KEYS) {
        // Missing is as likely as any particular value; the first keys are denser.
        if (rnd.nextInt(10) < (key.equals("plan") || key.equals("score") ? 8 : 5)) {
          props.set(key, pick(rnd, VALUES).deepCopy());
        }
      }
      for (String key : DATE_KEYS) {
        if (rnd.nextInt(10) < 8) props.set(key, randomDateValue(rnd));
      }
      Map<String, List<Instant>> events = new HashMap<>();
      for (String name : EVENTS) {
        int n = rnd.nextInt(10) < 3 ? 0 : rnd.nextInt(6);
        List<Instant> times = new ArrayList<>();
        for (int k = 0; k < n; k++) times.add(randomTime(rnd));
        if (rnd.nextInt(4) == 0) {
          // Exactly at / 1µs around a window boundary.
          Instant boundary = NOW.minus(pick(rnd, WINDOWS));
          times.add(
              switch (rnd.nextInt(3)) {
                case 0 -> boundary;
                case 1 -> boundary.plusNanos(1000);
                default -> boundary.minusNanos(1000);
              });
        }
        if (!times.isEmpty() && rnd.nextInt(8) == 0) times.add(times.get(0)); // same instant twice
        // Older than the retention: only all-time legs may still see them, through the rollup.
        if (rnd.nextInt(3) == 0) {
          for (int k = rnd.nextInt(3); k >= 0; k--)
            times.add(NOW.minus(Duration.ofDays(50 + rnd.nextInt(350))));
        }
        if (!times.isEmpty()) events.put(name, times);
      }
      Set<String> memberOf = new TreeSet<>();
      for (String b : BUCKET_REFS) {
        if (rnd.nextInt(10) < 4) memberOf.add(b);
      }
      users.put(String.format("%s%02d", prefix, u), new User(props, events, memberOf));
    }
    return users;
  }

  /**
   * An instant-ish property value: mostly instants near NOW (some exactly NOW ± a window, or 1µs /
   * 1ms around it) spelled as ISO-8601 with Z, with an offset, with 9 fraction digits, or as epoch
   * ms; sometimes a value no engine may read as an instant.
   */
  static JsonNode randomDateValue(Random rnd) {
    Instant t =
        switch (rnd.nextInt(4)) {
          case 0 -> randomTime(rnd);
          case 1 -> NOW;
          default -> {
            Instant edge =
                rnd.nextBoolean() ? NOW.plus(pick(rnd, WINDOWS)) : NOW.minus(pick(rnd, WINDOWS));
            yield switch (rnd.nextInt(5)) {
              case 0 -> edge.plusNanos(1000);
              case 1 -> edge.minusNanos(1000);
              case 2 -> edge.plusMillis(1);
              case 3 -> edge.minusMillis(1);
              default -> edge;
            };
          }
        };
    return switch (rnd.nextInt(12)) {
      case 0, 1, 2, 3 -> F.textNode(t.toString());
      case 4 ->
          F.textNode(
              java.time.OffsetDateTime.ofInstant(t, java.time.ZoneOffset.ofHoursMinutes(5, 30))
                  .format(java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME));
      case 5 ->
          F.textNode(
              java.time.OffsetDateTime.ofInstant(t, java.time.ZoneOffset.ofHours(-14))
                  .format(
                      java.time.format.DateTimeFormatter.ofPattern(
                          "uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSSXXX")));
      case 6, 7 -> F.numberNode(t.toEpochMilli());
      case 8 -> F.numberNode((double) t.toEpochMilli());
      default -> pick(rnd, BAD_DATES);
    };
  }

  /** Values that are no instant for either engine (and must not make the SQL fail). */
  static final List<JsonNode> BAD_DATES =
      Stream.of(
              "\"2026-02-30T00:00:00Z\"",
              "\"2027-02-29T12:00:00Z\"",
              "\"2026-13-01T00:00:00Z\"",
              "\"2026-03-15T24:00:00Z\"",
              "\"2026-03-15T23:59:60Z\"",
              "\"0000-01-01T00:00:00Z\"",
              "\"2026-03-15\"",
              "\"2026-03-15T12:00Z\"",
              "\"2026-03-15 12:00:00Z\"",
              "\"2026-03-15T12:00:00\"",
              "\"2026-03-15T12:00:00+15:00\"",
              "\"tomorrow\"",
              "\"\"",
              "1773576000123.5",
              "1e300",
              "-1e300",
              "253402300800000",
              "true",
              "null",
              "[1773576000123]",
              "{\"at\":1773576000123}",
              "\"2028-02-29T00:00:00Z\"",
              "\"0001-01-01T00:00:00+14:00\"",
              "1773576000123.0")
          .map(CriteriaSqlDifferentialTest::parse)
          .toList();

  /** Uniform over ±40 days around NOW, sometimes whole seconds, else microseconds. */
  static Instant randomTime(Random rnd) {
    long span = Duration.ofDays(40).toSeconds() * 1_000_000L;
    long offsetMicros = (long) ((rnd.nextDouble() * 2 - 1) * span);
    Instant t = NOW.plus(offsetMicros, ChronoUnit.MICROS);
    return rnd.nextBoolean() ? t.truncatedTo(ChronoUnit.SECONDS) : t;
  }

  /** Replaces the rows of the given users (ids starting with {@code prefix}) with {@code users}. */
  static void load(Map<String, User> users, String prefix) {
    dsl.transaction(
        cfg -> {
          DSLContext tx = cfg.dsl();
          tx.deleteFrom(USER_EVENTS).where(USER_EVENTS.USER_ID.startsWith(prefix)).execute();
          tx.deleteFrom(USER_EVENT_ROLLUPS)
              .where(USER_EVENT_ROLLUPS.USER_ID.startsWith(prefix))
              .execute();
          tx.deleteFrom(CONTACTS).where(CONTACTS.EXTERNAL_ID.startsWith(prefix)).execute();
          var contacts = tx.insertInto(CONTACTS, CONTACTS.EXTERNAL_ID, CONTACTS.PROPERTIES);
          for (var e : users.entrySet())
            contacts = contacts.values(e.getKey(), Json.jsonb(e.getValue().properties()));
          contacts.execute();
          // Through the production writer, so the all-time rollups are what ingest would have made.
          List<EventLog.Entry> events = new ArrayList<>();
          for (var e : users.entrySet()) {
            for (var series : e.getValue().events().entrySet()) {
              for (Instant t : series.getValue())
                events.add(new EventLog.Entry(e.getKey(), series.getKey(), "{}", t, t, null));
            }
          }
          // Events of a user without a contact row (the correlation must not leak them).
          events.add(new EventLog.Entry(prefix + "zz-no-contact", "login", "{}", NOW, NOW, null));
          EventLog.append(tx, events);
          var m = BUCKET_MEMBERSHIPS;
          tx.deleteFrom(m).where(m.USER_ID.startsWith(prefix)).execute();
          var rows =
              tx.insertInto(
                  m,
                  m.USER_ID,
                  m.BUCKET_ID,
                  m.STATUS,
                  m.ENTERED_AT,
                  m.LEFT_AT,
                  m.ENTRY_COUNT,
                  m.SOURCE,
                  m.DELETED_AT);
          int n = 0;
          for (var e : users.entrySet()) {
            for (String b : BUCKET_REFS) {
              boolean member = e.getValue().memberships().contains(b);
              // A former epoch (left) under most; it must never read as membership.
              if (member || (n++ % 3 != 0)) {
                rows =
                    rows.values(
                        e.getKey(),
                        b,
                        MembershipStatus.LEFT,
                        NOW.minus(Duration.ofDays(9)),
                        NOW.minus(Duration.ofDays(8)),
                        1,
                        MembershipSource.EVENT,
                        null);
              }
              if (member) {
                rows =
                    rows.values(
                        e.getKey(),
                        b,
                        MembershipStatus.ACTIVE,
                        NOW.minus(Duration.ofDays(1)),
                        null,
                        2,
                        MembershipSource.EVENT,
                        null);
              }
            }
          }
          // An active row of a deleted membership, and of another bucket id sharing a prefix:
          // neither counts.
          String first = users.keySet().iterator().next();
          if (!users.get(first).memberships().contains(BUCKET_REFS.get(0))) {
            rows =
                rows.values(
                    first,
                    BUCKET_REFS.get(0),
                    MembershipStatus.ACTIVE,
                    NOW,
                    null,
                    3,
                    MembershipSource.EVENT,
                    NOW);
          }
          rows =
              rows.values(
                  first,
                  BUCKET_REFS.get(0) + "-x",
                  MembershipStatus.ACTIVE,
                  NOW,
                  null,
                  1,
                  MembershipSource.EVENT,
                  null);
          rows.execute();
        });
    // Retention active: raw events older than RETENTION are gone; only the rollups remember them.
    new EventPartitions(dsl, Clock.fixed(NOW, ZoneOffset.UTC), RETENTION, 3).maintain();
    assertThat(
            dsl.fetchCount(
                USER_EVENTS,
                USER_EVENTS
                    .USER_ID
                    .startsWith(prefix)
                    .and(USER_EVENTS.OCCURRED_AT.le(NOW.minus(RETENTION)))))
        .as("retention dropped the old events")
        .isZero();
  }

  /**
   * Evaluator states as production builds them: properties through Json.object, events from the
   * table.
   */
  static Map<String, UserState> loadBack(Set<String> ids) {
    Map<String, UserState> out = new HashMap<>();
    // Every event with the widest window the trees use: all-time counts from the rollups.
    Map<String, Duration> windows = new HashMap<>();
    CRITERIA_EVENTS.forEach(
        n -> windows.put(n, WINDOWS.stream().max(Duration::compareTo).orElseThrow()));
    Map<String, Map<String, EventSeries>> loaded =
        new dev.bucketflow.membership.EventHistoryLoader().load(dsl, ids, windows, NOW);
    dsl.select(CONTACTS.EXTERNAL_ID, CONTACTS.PROPERTIES)
        .from(CONTACTS)
        .where(CONTACTS.EXTERNAL_ID.in(ids))
        .forEach(
            r -> {
              out.put(r.value1(), new UserState(Json.object(r.value2()), loaded.get(r.value1())));
            });
    // Memberships as production loads them for bucket conditions.
    dev.bucketflow.membership.UserStates.loadMemberships(
        dsl, out, new java.util.HashSet<>(BUCKET_REFS));
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Criteria generation
  // ---------------------------------------------------------------------------------------------

  static Criterion randomTree(Random rnd, int depth, boolean allowEmptyComposites) {
    if (depth < 3 && rnd.nextInt(10) < (depth == 0 ? 6 : 3)) {
      int n = allowEmptyComposites && rnd.nextInt(15) == 0 ? 0 : 1 + rnd.nextInt(4);
      List<Criterion> children = new ArrayList<>();
      for (int i = 0; i < n; i++) children.add(randomTree(rnd, depth + 1, allowEmptyComposites));
      return new CompositeCriterion(rnd.nextBoolean() ? Logic.AND : Logic.OR, children);
    }
    int leaf = rnd.nextInt(20);
    if (leaf < 3) {
      return new BucketCriterion(
          pick(rnd, CRITERIA_BUCKETS),
          rnd.nextBoolean() ? MembershipCheck.MEMBER : MembershipCheck.NOT_MEMBER);
    }
    return leaf < 12 ? randomProperty(rnd) : randomEvent(rnd);
  }

  static PropertyCriterion randomProperty(Random rnd) {
    PropertyOperator op = pick(rnd, List.of(PropertyOperator.values()));
    if (!op.dateRelative() && rnd.nextInt(3) == 0)
      op = pick(rnd, DATE_OPS); // date legs are the new ground
    String key =
        op.dateRelative() && rnd.nextInt(6) != 0 ? pick(rnd, DATE_KEYS) : pick(rnd, CRITERIA_KEYS);
    JsonNode value;
    int r = rnd.nextInt(20);
    if (op.dateRelative()) {
      value =
          r == 0
              ? null
              : r == 1
                  ? F.textNode("3 days")
                  : r == 2
                      ? pick(rnd, VALUES)
                      : r < 6
                          ? F.objectNode().put("hours", rnd.nextInt(100))
                          : F.textNode(pick(rnd, WINDOWS).toString());
    } else if (op == PropertyOperator.IN || op == PropertyOperator.NOT_IN) {
      if (r < 2) {
        value = r == 0 ? null : pick(rnd, VALUES); // not an array: validation would reject
      } else {
        var array = F.arrayNode();
        for (int i = rnd.nextInt(4); i > 0; i--) array.add(pick(rnd, VALUES).deepCopy());
        value = array;
      }
    } else if (op == PropertyOperator.EXISTS || op == PropertyOperator.NOT_EXISTS) {
      value = r < 16 ? null : pick(rnd, VALUES); // a stray operand must be ignored
    } else if (r == 0) {
      value = null; // no operand at all (validation would reject)
    } else if (op == PropertyOperator.CONTAINS && r < 12) {
      value = pick(rnd, SUBSTRINGS);
    } else {
      value = pick(rnd, VALUES);
    }
    return new PropertyCriterion(key, op, value);
  }

  static EventCriterion randomEvent(Random rnd) {
    String name = pick(rnd, CRITERIA_EVENTS);
    int r = rnd.nextInt(10);
    EventCheck check = r < 2 ? EventCheck.EXISTS : r < 4 ? EventCheck.NOT_EXISTS : EventCheck.COUNT;
    CountOperator op = null;
    Long value = null;
    if (check == EventCheck.COUNT) {
      if (rnd.nextInt(6) != 0) op = pick(rnd, List.of(CountOperator.values()));
      if (op != null || rnd.nextInt(4) == 0) value = (long) rnd.nextInt(5);
      if (op != null && rnd.nextInt(40) == 0) value = null; // refused by the evaluator: skipped
    } else if (rnd.nextInt(10) == 0) {
      op = pick(rnd, List.of(CountOperator.values())); // stray operator/value must be ignored
      value = (long) rnd.nextInt(5);
    }
    Duration within = rnd.nextInt(10) < 6 ? pick(rnd, WINDOWS) : null;
    return new EventCriterion(name, check, op, value, within);
  }

  /**
   * The evaluator throws for a count with an operator and no value; such trees are not compared.
   */
  static boolean refusedByEvaluator(Criterion c) {
    return c.walk()
        .anyMatch(
            n ->
                n instanceof EventCriterion e
                    && e.check() == EventCheck.COUNT
                    && e.operator() != null
                    && e.value() == null);
  }

  // ---------------------------------------------------------------------------------------------
  // Comparison
  // ---------------------------------------------------------------------------------------------

  /** Depth of {@code node} in {@code root} (0 = the root itself), by identity. */
  static int depthOf(Criterion root, Criterion node) {
    if (root == node) return 0;
    for (Criterion child : root.children()) {
      int d = depthOf(child, node);
      if (d >= 0) return d + 1;
    }
    return -1;
  }

  static Set<String> evaluate(Criterion c, Map<String, User> users, Instant now) {
    Map<String, UserState> states = new HashMap<>();
    users.forEach((id, u) -> states.put(id, u.state()));
    return evaluateStates(c, states, now);
  }

  static Set<String> evaluateStates(Criterion c, Map<String, UserState> states, Instant now) {
    return states.entrySet().stream()
        .filter(e -> Evaluator.matches(c, e.getValue(), now))
        .map(Map.Entry::getKey)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  static Set<String> sql(Criterion c, String prefix, Instant now) {
    return new TreeSet<>(
        dsl.select(CONTACTS.EXTERNAL_ID)
            .from(CONTACTS)
            .where(CONTACTS.EXTERNAL_ID.startsWith(prefix))
            .and(CriteriaSql.predicate(c, CONTACTS.EXTERNAL_ID, CONTACTS.PROPERTIES, now))
            .fetchSet(CONTACTS.EXTERNAL_ID));
  }

  static boolean sqlMatches(Criterion c, String id, Instant now) {
    return dsl.fetchExists(
        DSL.selectOne()
            .from(CONTACTS)
            .where(CONTACTS.EXTERNAL_ID.eq(id))
            .and(CriteriaSql.predicate(c, CONTACTS.EXTERNAL_ID, CONTACTS.PROPERTIES, now)));
  }

  /** Null when SQL and evaluator agree; else a report with the smallest disagreeing subtree. */
  static String compare(Criterion c, Map<String, User> users, Instant now, String prefix) {
    String problem = disagreement(c, users, now, prefix);
    if (problem == null) return null;
    Criterion minimal = smallestDisagreeing(c, users, now, prefix);
    StringBuilder out = new StringBuilder("criterion: ").append(BucketJson.toJson(c)).append('\n');
    if (minimal != c)
      out.append("smallest disagreeing subtree: ").append(BucketJson.toJson(minimal)).append('\n');
    out.append(disagreement(minimal, users, now, prefix));
    return out.toString();
  }

  static Criterion smallestDisagreeing(
      Criterion c, Map<String, User> users, Instant now, String prefix) {
    for (Criterion child : c.children()) {
      if (disagreement(child, users, now, prefix) != null)
        return smallestDisagreeing(child, users, now, prefix);
    }
    return c;
  }

  static String disagreement(Criterion c, Map<String, User> users, Instant now, String prefix) {
    Set<String> expected = evaluate(c, users, now);
    Set<String> actual;
    try {
      actual = sql(c, prefix, now);
    } catch (RuntimeException e) {
      return "  SQL failed: " + e;
    }
    if (actual.equals(expected)) return null;
    StringBuilder out = new StringBuilder();
    for (String id : new TreeSet<>(users.keySet())) {
      boolean e = expected.contains(id);
      boolean a = actual.contains(id);
      if (e != a) {
        out.append("  ")
            .append(id)
            .append(": evaluator=")
            .append(e)
            .append(" sql=")
            .append(a)
            .append("  data ")
            .append(users.get(id).describe(c))
            .append('\n');
      }
    }
    return out.toString();
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------------------------

  static Arguments tc(
      String name, Criterion c, String props, Map<String, List<Instant>> events, boolean expected) {
    return Arguments.of(name, c, new User(obj(props), events), expected);
  }

  static PropertyCriterion prop(String key, PropertyOperator op, String valueJson) {
    return new PropertyCriterion(key, op, valueJson == null ? null : parse(valueJson));
  }

  static PropertyCriterion date(String key, PropertyOperator op, String iso) {
    return new PropertyCriterion(key, op, F.textNode(iso));
  }

  static String dateProps(String due) {
    return "{\"due\":\"" + due + "\"}";
  }

  static EventCriterion ev(
      String name, EventCheck check, CountOperator op, Long value, Duration within) {
    return new EventCriterion(name, check, op, value, within);
  }

  static Map<String, List<Instant>> none() {
    return Map.of();
  }

  static Map<String, List<Instant>> events(String name, Instant... times) {
    return Map.of(name, List.of(times));
  }

  static Map<String, List<Instant>> events(String name1, Instant t1, String name2, Instant t2) {
    return Map.of(name1, List.of(t1), name2, List.of(t2));
  }

  static ObjectNode obj(String json) {
    return (ObjectNode) parse(json);
  }

  static JsonNode parse(String json) {
    try {
      return Json.MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(json, e);
    }
  }

  static <T> T pick(Random rnd, List<T> from) {
    return from.get(rnd.nextInt(from.size()));
  }
}
