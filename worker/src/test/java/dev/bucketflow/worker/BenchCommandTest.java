package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.CONTACTS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.testing.TestDatabase;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/** {@code bucketflow bench ingest}, tiny: it runs, reports both rates and a ratio, and is exact. */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(1)
class BenchCommandTest {

  @Test
  void smokeRunOnAThrowawayEmbeddedDatabaseReportsBothRatesAndTheRatio() {
    BucketsCommandTest.Run r =
        BucketsCommandTest.run(
            "bench",
            "ingest",
            "--users",
            "50",
            "--events",
            "500",
            "--baseline-events",
            "50",
            "--buckets",
            "3");

    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    assertThat(r.out())
        .containsPattern("\\(a\\)\\s+batched x500, 3 buckets\\s+500\\s+[0-9.]+\\s+[0-9,]+\\s")
        .containsPattern("\\(b\\)\\s+1 event/transaction, 3 buckets\\s+50\\s+[0-9.]+\\s+[0-9,]+\\s")
        .containsPattern("\\(a0\\)\\s+batched x500, no buckets\\s+500\\s")
        .containsPattern("ratio \\(a\\)/\\(b\\): [0-9.]+x")
        .contains("cores");
  }

  /**
   * The falling-rate measure: last against first stretch per phase, and with --sql-profile, per
   * statement.
   */
  @Test
  void reportsTheLastStretchAgainstTheFirstAndWhichStatementsGrew() {
    BucketsCommandTest.Run r =
        BucketsCommandTest.run(
            "bench",
            "ingest",
            "--sql-profile",
            "--users",
            "50",
            "--events",
            "1000",
            "--batch-size",
            "100",
            "--baseline-events",
            "0",
            "--buckets",
            "3");

    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    assertThat(r.out())
        .containsPattern(
            "rate as the database grows: a0 last 500 events at [0-9,]+ events/s, [0-9]+% of its first 500")
        .containsPattern(
            "rate as the database grows: a last 500 events at [0-9,]+ events/s, [0-9]+% of its first 500")
        .contains("the first 500 events against the last 500 (ms per 1,000 events):")
        .containsPattern("[0-9.,]+ +[0-9.,]+ +[+-][0-9.,]+ +\\(all statements\\)");
  }

  @Test
  void batchedAndBaselineRecordTheSameTransitionsOnTheSamePrefix() {
    try (TestDatabase db = TestDatabase.fresh()) {
      BucketsCommandTest.Run r =
          BucketsCommandTest.run(
              "bench",
              "ingest",
              "--db-url",
              db.url(),
              "--users",
              "40",
              "--events",
              "400",
              "--batch-size",
              "50",
              "--baseline-events",
              "200",
              "--buckets",
              "8");

      assertThat(r.exit()).as(r.out() + r.err()).isZero();
      assertThat(r.out())
          .containsPattern(
              "exactness: on the first 200 events, \\(a\\) and \\(b\\) recorded the same [1-9][0-9]* transitions");
    }
  }

  @Test
  void refusesToTruncateADatabaseThatHoldsData() {
    try (TestDatabase db = TestDatabase.fresh()) {
      db.dsl().insertInto(CONTACTS, CONTACTS.EXTERNAL_ID).values("someone").execute();

      BucketsCommandTest.Run r =
          BucketsCommandTest.run(
              "bench",
              "ingest",
              "--db-url",
              db.url(),
              "--users",
              "5",
              "--events",
              "10",
              "--baseline-events",
              "0",
              "--buckets",
              "1");

      assertThat(r.exit()).isEqualTo(1);
      assertThat(r.err()).contains("holds Bucketflow data", "--wipe");
      assertThat(db.dsl().fetchCount(CONTACTS)).isEqualTo(1);
    }
  }

  @Test
  void theWorkloadIsValidAndReproducible() {
    List<BucketDefinition> buckets = BenchWorkload.buckets(20, 7);
    assertThat(buckets).hasSize(20);
    assertThat(BenchWorkload.buckets(20, 7)).isEqualTo(buckets);

    List<String> first = new ArrayList<>();
    List<String> second = new ArrayList<>();
    var s1 =
        new BenchWorkload.EventStream(
            7, 100, 50, BenchCommand.Ingest.NOW.minusSeconds(86_400), BenchCommand.Ingest.NOW);
    var s2 =
        new BenchWorkload.EventStream(
            7, 100, 50, BenchCommand.Ingest.NOW.minusSeconds(86_400), BenchCommand.Ingest.NOW);
    while (s1.hasNext()) first.add(s1.next().toString());
    while (s2.hasNext()) second.add(s2.next().toString());
    assertThat(first).hasSize(50).isEqualTo(second);
  }
}
