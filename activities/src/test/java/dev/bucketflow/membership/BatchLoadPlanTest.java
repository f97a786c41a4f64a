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
    dsl.execute("insert into bucket_memberships (user_id, bucket_id, status, entered_at, entry_count, source) "
        + "select 'u' || (g % 30000), 'b' || (g % 20), 'active', now(), 1, 'event' from generate_series(1, 12000) g");
    dsl.execute("insert into user_event_rollups select 'u' || g, 'e' || (g % 10), 3, now() - interval '50 days', "
        + "now() - interval '20 days' from generate_series(1, 60000) g");
    dsl.execute("insert into user_events (user_id, event, occurred_at) select 'u' || g, 'e' || (g % 10), "
        + "now() - interval '20 days' from generate_series(1, 60000) g");
    for (int i = 0; i < USERS.length; i++) USERS[i] = "u" + (i * 37);
    for (int i = 0; i < EVENTS.length; i++) EVENTS[i] = "e" + i;
    assertThat(dsl.fetchValue("select count(*) from pg_stat_user_tables where relname = 'bucket_memberships' "
        + "and last_analyze is null and last_autoanalyze is null")).as("never analysed").isEqualTo(1L);
  }

  static String plan(String sql, Object... params) {
    for (int i = 0; i < 8; i++) dsl.fetch(sql, params);
    String plan = String.join("\n", dsl.fetch("explain " + sql, params).getValues(0, String.class));
    System.out.println(plan);
    return plan;
  }

  @Test
  void activeRowsAreReadByOneUserIndexProbeEach() {
    String plan = plan(MembershipStore.ACTIVE_SQL, USERS, "active");
    assertThat(plan).contains("Nested Loop").contains("bucket_memberships_history")
        .contains("Index Cond: (user_id = u.user_id)")
        .doesNotContain("Seq Scan on bucket_memberships").doesNotContain("Hash Join")
        .doesNotContain("bucket_memberships_dwell").doesNotContain("bucket_memberships_active_by_bucket");
  }

  @Test
  void entryHistoryIsReadByOneUserIndexProbeEach() {
    String plan = plan(MembershipStore.HISTORY_SQL, (Object) USERS);
    assertThat(plan).contains("Nested Loop").contains("Index Cond: (user_id = u.user_id)")
        .doesNotContain("Seq Scan on bucket_memberships").doesNotContain("Hash Join");
  }

  @Test
  void boundedHistoryProbesTheRollupKeyAndSkipsTheRangeScanOfOldPairs() {
    String[] horizons = new String[EVENTS.length];
    Integer[] caps = new Integer[EVENTS.length];
    for (int i = 0; i < EVENTS.length; i++) {
      horizons[i] = Instant.now().minus(Duration.ofDays(7)).toString();
      caps[i] = 5;
    }
    String plan = plan(EventHistoryLoader.BOUNDED_SQL, EVENTS, horizons, caps, USERS, EVENTS);
    assertThat(plan).contains("user_event_rollups_pkey").contains("One-Time Filter")
        .doesNotContain("Seq Scan on user_event_rollups").doesNotContain("Seq Scan on user_events");
    // Every pair's last occurrence (20 days ago) is before the 7-day horizon: no range scan runs.
    List<String> analysed = dsl.fetch("explain (analyze, costs off, timing off) " + EventHistoryLoader.BOUNDED_SQL,
        EVENTS, horizons, caps, USERS, EVENTS).getValues(0, String.class);
    assertThat(analysed).filteredOn(l -> l.contains("Index Only Scan Backward") || l.contains("Index Scan Backward"))
        .allMatch(l -> l.contains("never executed"));
  }
}
