package dev.bucketflow.membership;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.testing.DatabaseTest;
import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;
import org.jooq.conf.ParamType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The lock every membership writer takes first is an index scan of {@code contacts_pkey} over the
 * chunk's ids, never a scan of all contacts (20,000 here, analyzed), and it locks in id order.
 */
class ContactLocksPlanTest extends DatabaseTest {

  static final int CONTACTS = 20_000;

  @BeforeAll
  static void contacts() {
    dsl.execute(
        "INSERT INTO contacts (external_id) SELECT 'u' || lpad(g::text, 6, '0') FROM generate_series(1, "
            + CONTACTS
            + ") g");
    dsl.execute("ANALYZE contacts");
  }

  static List<String> chunk(int from, int size) {
    List<String> ids = new ArrayList<>();
    for (int i = from; i < from + size; i++) ids.add(String.format("u%06d", i));
    return ids;
  }

  List<String> plan(boolean skipLocked, List<String> ids) {
    String sql = ContactLocks.lockQuery(dsl, ids, skipLocked).getSQL(ParamType.INLINED);
    List<String> lines = dsl.fetch("EXPLAIN " + sql).getValues(0, String.class);
    lines.forEach(
        l ->
            System.out.println(
                (skipLocked ? "[skip locked] " : "[blocking] ")
                    + (l.length() > 160 ? l.substring(0, 160) + "…" : l)));
    return lines;
  }

  @Test
  void theLockOfAChunkIsAnIndexScanOfThePrimaryKey() {
    for (boolean skipLocked : List.of(true, false)) {
      for (int size : List.of(1, 500, 1000)) {
        List<String> lines = plan(skipLocked, chunk(7_000, size));
        assertThat(lines.get(0)).startsWith("LockRows");
        assertThat(String.join("\n", lines))
            .contains("Index Scan using contacts_pkey on contacts")
            .doesNotContain("Seq Scan")
            .doesNotContain("Sort");
      }
    }
  }

  /**
   * The plan PostgreSQL keeps for the prepared statement after a few executions (the generic one,
   * where the array is a parameter, not a constant): still an index scan of the primary key.
   */
  @Test
  void theGenericPlanOfThePreparedLockIsAnIndexScanToo() {
    for (boolean skipLocked : List.of(true, false)) {
      String sql = ContactLocks.lockQuery(dsl, chunk(7_000, 1000), skipLocked).getSQL();
      assertThat(sql).contains("any").doesNotContain("in (");
      List<String> lines =
          dsl.transactionResult(
              cfg -> {
                DSLContext tx = cfg.dsl();
                tx.execute("set local plan_cache_mode = force_generic_plan");
                tx.execute("prepare lock_chunk(text[]) as " + sql.replace("?", "$1"));
                String array = "'{" + String.join(",", chunk(7_000, 1000)) + "}'";
                List<String> plan =
                    tx.fetch("explain execute lock_chunk(" + array + ")")
                        .getValues(0, String.class);
                tx.execute("deallocate lock_chunk");
                return plan;
              });
      lines.forEach(
          l -> System.out.println("[generic" + (skipLocked ? ", skip locked] " : "] ") + l));
      assertThat(lines.get(0)).startsWith("LockRows");
      assertThat(String.join("\n", lines))
          .contains("Index Scan using contacts_pkey on contacts")
          .doesNotContain("Seq Scan")
          .doesNotContain("Sort");
    }
  }

  @Test
  void locksInIdOrderWhateverTheOrderAsked() {
    List<String> ids = chunk(100, 50);
    java.util.Collections.reverse(ids);
    List<String> locked = dsl.transactionResult(cfg -> ContactLocks.lock(cfg.dsl(), ids));
    assertThat(locked).isSorted().hasSize(50);
    List<String> available =
        dsl.transactionResult(
            cfg -> ContactLocks.lockAvailable(cfg.dsl(), List.of("u000001", "nobody")));
    assertThat(available).containsExactly("u000001");
  }
}
