package dev.bucketflow.membership;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.testing.DatabaseTest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The per-batch loads of the ingest path are index probes per user even on a young database whose
 * tables were never analysed (a fresh install taking its first burst, as bench ingest does): no
 * hash of a whole bucket, no walk of a by-bucket or partial index per user. Each statement runs
 * more than five times first, so the plan checked is the one PostgreSQL's plan cache keeps.
 */
class BatchLoadPlanTest extends DatabaseTest {

  static final String[] USERS = new String[500];
  static final String[] EVENTS = new String[10];

  @BeforeAll
  static void youngTables() {
    dsl.execute(
        "insert into bucket_memberships (user_id, bucket_id, status, entered_at, entry_count, source) "
            + "select 'u' || (g % 30000), 'b' || (g % 20), 'active', now(), 1, 'event' from generate_series(1, 12000) g");
    dsl.execute(
        "insert into user_event_rollups select 'u' || g, 'e' || (g % 10), 3, now() - interval '50 days', "
            + "now() - interval '20 days' from generate_series(1, 60000) g");
    dsl.execute(
        "insert into user_events (user_id, event, occurred_at) select 'u' || g, 'e' || (g % 10), "
            + "now() - interval '20 days' from generate_series(1, 60000) g");
    for (int i = 0; i < USERS.length; i++) USERS[i] = "u" + (i * 37);
    for (int i = 0; i < EVENTS.length; i++) EVENTS[i] = "e" + i;
    assertThat(
            dsl.fetchValue(
                "select count(*) from pg_stat_user_tables where relname = 'bucket_memberships' "
                    + "and last_analyze is null and last_autoanalyze is null"))
        .as("never analysed")
        .isEqualTo(1L);
  }

  static String plan(String sql, Object... params) {
    for (int i = 0; i < 8; i++) dsl.fetch(sql, params);
    String plan = String.join("\n", dsl.fetch("explain " + sql, params).getValues(0, String.class));
    System.out.println(plan);
    return plan;
  }

  /** One probe of bucket_memberships_history per user; no hash, seq scan or by-bucket index. */
  static void assertOneHistoryProbePerUser(String plan) {
    assertThat(plan)
        .contains("Nested Loop")
        .contains("bucket_memberships_history")
        .contains("Index Cond: (user_id = u.user_id)")
        .doesNotContain("Seq Scan on bucket_memberships")
        .doesNotContain("Hash Join")
        .doesNotContain("bucket_memberships_dwell")
        .doesNotContain("bucket_memberships_active_by_bucket");
  }

  @Test
  void activeRowsAreReadByOneUserIndexProbeEach() {
    assertOneHistoryProbePerUser(plan(MembershipStore.ACTIVE_SQL, USERS, "active"));
  }

  @Test
  void entryHistoryIsReadByOneUserIndexProbeEach() {
    String plan = plan(MembershipStore.HISTORY_SQL, (Object) USERS);
    assertThat(plan)
        .contains("Nested Loop")
        .contains("Index Cond: (user_id = u.user_id)")
        .doesNotContain("Seq Scan on bucket_memberships")
        .doesNotContain("Hash Join");
  }

  @Test
  void activeRowsAndHistoryTogetherAreReadByOneUserIndexProbeEach() {
    assertOneHistoryProbePerUser(plan(MembershipStore.ROWS_SQL, (Object) USERS));
  }

  /**
   * The ingest path's one read of a batch's rows ({@link MembershipStore#rowsOf}) gives exactly
   * what the two separate reads give: active rows (deleted and left ones excluded) and entry
   * history (every row, deleted or not), each only for the buckets asked for.
   */
  @Test
  void rowsOfIsActiveOfAndHistoryOf() {
    // 40 users x 6 buckets, eight epochs each (g / 120 + 1); the first epoch active for a third of
    // the pairs, deleted rows among both.
    dsl.execute(
        "insert into bucket_memberships (user_id, bucket_id, status, entered_at, left_at, entry_count, source, "
            + "deleted_at, expires_at, max_dwell_at) select 'r' || (g % 40), 'b' || (g % 6), "
            + "case when g <= 120 and g % 3 = 0 then 'active' else 'left' end, now() - g * interval '1 hour', "
            + "case when g <= 120 and g % 3 = 0 then null else now() - g * interval '30 minutes' end, g / 120 + 1, 'event', "
            + "case when g % 17 = 0 then now() else null end, "
            + "case when g % 5 = 0 then now() + g * interval '1 minute' else null end, "
            + "case when g % 7 = 0 then now() + interval '3 days' else null end "
            + "from generate_series(0, 959) g");
    MembershipStore store = new MembershipStore();
    List<String> users = new java.util.ArrayList<>();
    for (int i = 0; i < 45; i++) users.add("r" + i);
    List<String> activeBuckets = List.of("b0", "b1", "b2", "b5", "nope");
    List<String> historyBuckets = List.of("b1", "b3", "b4", "b5");
    MembershipStore.Rows rows = store.rowsOf(dsl, users, activeBuckets, historyBuckets);
    assertThat(rows.active())
        .isEqualTo(store.activeOf(dsl, users, activeBuckets))
        .hasSizeGreaterThan(10);
    assertThat(rows.history())
        .isEqualTo(store.historyOf(dsl, users, historyBuckets))
        .hasSizeGreaterThan(40);
    assertThat(rows.history().values())
        .anyMatch(h -> h.lastLeftAt() != null)
        .anyMatch(h -> h.entries() > 1);
  }

  @Test
  void boundedHistoryProbesTheRollupKeyAndSkipsTheRangeScanOfOldPairs() {
    String[] horizons = new String[EVENTS.length];
    Integer[] caps = new Integer[EVENTS.length];
    for (int i = 0; i < EVENTS.length; i++) {
      horizons[i] = Instant.now().minus(Duration.ofDays(7)).toString();
      caps[i] = 5;
    }
    // Every user with every event: the (user, event) pairs a batch's candidate buckets read.
    String[] pairUsers = new String[USERS.length * EVENTS.length];
    String[] pairEvents = new String[pairUsers.length];
    for (int u = 0; u < USERS.length; u++) {
      for (int e = 0; e < EVENTS.length; e++) {
        pairUsers[u * EVENTS.length + e] = USERS[u];
        pairEvents[u * EVENTS.length + e] = EVENTS[e];
      }
    }
    String plan =
        plan(EventHistoryLoader.BOUNDED_SQL, pairUsers, pairEvents, EVENTS, horizons, caps);
    assertThat(plan)
        .contains("user_event_rollups_pkey")
        .contains("One-Time Filter")
        .doesNotContain("Seq Scan on user_event_rollups")
        .doesNotContain("Seq Scan on user_events");
    // Every pair's last occurrence (20 days ago) is before the 7-day horizon: no range scan runs.
    List<String> analysed =
        dsl.fetch(
                "explain (analyze, costs off, timing off) " + EventHistoryLoader.BOUNDED_SQL,
                pairUsers,
                pairEvents,
                EVENTS,
                horizons,
                caps)
            .getValues(0, String.class);
    assertThat(analysed)
        .filteredOn(
            l -> l.contains("Index Only Scan Backward") || l.contains("Index Scan Backward"))
        .allMatch(l -> l.contains("never executed"));
  }
}
