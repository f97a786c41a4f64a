package dev.bucketflow.backfill;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;

/**
 * A small run of {@link BackfillBench} by default; {@code -Dbench.contacts=100000
 * -Dbench.events=1000000} (and {@code -Dbench.chunk}) for a real measurement. The summary and the
 * EXPLAIN plans go to {@code target/backfill-bench.txt}.
 */
class BackfillBenchTest {

  @Test
  void benchBackfillsBothBucketsOverEveryContact() throws Exception {
    int contacts = Integer.getInteger("bench.contacts", 3_000);
    int events = Integer.getInteger("bench.events", 30_000);
    int chunk = Integer.getInteger("bench.chunk", 500);
    try (TestDatabase db = TestDatabase.fresh()) {
      DSLContext dsl = db.dsl();
      BackfillBench.Result result = BackfillBench.run(dsl, contacts, events, chunk);

      StringBuilder report = new StringBuilder(result.summary());
      result.buckets().forEach(b -> b.explain().forEach(line -> report.append(line).append('\n')));
      Files.writeString(Path.of("target", "backfill-bench.txt"), report);
      System.out.print(report);

      assertThat(result.buckets())
          .extracting(BackfillBench.BucketRun::kind)
          .containsExactly(BackfillKind.FIRST_TIME, BackfillKind.FIRST_TIME, BackfillKind.REEVAL);
      for (BackfillBench.BucketRun run : result.buckets()) {
        assertThat(run.processed()).isEqualTo(contacts);
        assertThat(run.chunks()).isEqualTo(contacts / chunk + 1);
        assertThat(run.explain()).isNotEmpty();
      }
      var m = BUCKET_MEMBERSHIPS;
      BackfillBench.BucketRun count = result.buckets().get(0);
      BackfillBench.BucketRun composite = result.buckets().get(1);
      BackfillBench.BucketRun reeval = result.buckets().get(2);
      assertThat(count.joined()).isPositive().isLessThan(contacts);
      assertThat(composite.joined()).isPositive().isLessThan(contacts);
      assertThat(reeval.joined()).isPositive();
      assertThat(reeval.left()).isPositive();
      assertThat(
              dsl.fetchCount(
                  m, m.BUCKET_ID.eq("bench-composite").and(m.STATUS.eq(MembershipStatus.ACTIVE))))
          .isEqualTo((int) composite.joined());
      assertThat(
              dsl.fetchCount(
                  m, m.BUCKET_ID.eq("bench-count").and(m.STATUS.eq(MembershipStatus.ACTIVE))))
          .isEqualTo((int) (count.joined() + reeval.joined() - reeval.left()));
      assertThat(
              dsl.fetchCount(
                  dev.bucketflow.schema.Tables.USER_EVENTS,
                  dev.bucketflow.schema.Tables.USER_EVENTS.EVENT.eq("bucket:left:bench-count")))
          .isEqualTo((int) reeval.left());
      // An independent count of the count bucket (the clock moved a little since: allow 2%).
      long expected =
          ((Number)
                  dsl.fetchValue(
                      "SELECT count(*) FROM (SELECT user_id FROM user_events WHERE event = 'key_action' "
                          + "AND occurred_at > now() - interval '30 days' GROUP BY user_id HAVING count(*) >= 5) s"))
              .longValue();
      assertThat((double) count.joined()).isCloseTo(expected, within(Math.max(2, expected * 0.02)));
      // The hot per-chunk query walks the primary key and probes the event index.
      for (BackfillBench.BucketRun run : result.buckets()) {
        String plans = String.join("\n", run.explain());
        // A partition's copy of user_events_user_event_time (PostgreSQL names it per partition).
        assertThat(plans)
            .contains("contacts_pkey")
            .containsPattern("user_events_\\w*(user_event_time|user_id_event_occurred_at_idx)");
        // At scale, never a scan of the whole events table per chunk (tiny tables may hash).
        if (contacts >= 50_000) assertThat(plans).doesNotContain("Seq Scan on user_events");
      }
    }
  }
}
