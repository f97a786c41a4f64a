package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.CONTACTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.csv.ImportLines;
import dev.bucketflow.db.Json;
import dev.bucketflow.worker.BucketsCommandTest.Run;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code buckets import|export} end to end: the real worker applies the signals, the summary reads
 * what it did.
 */
class BucketCsvImportIT {

  static final Path BUCKETS = Path.of("src/test/resources/csv-buckets");
  static WorkerHarness harness;

  @BeforeAll
  static void start() {
    harness = new WorkerHarness(BUCKETS, Path.of("src/test/resources/no-journeys"));
  }

  @AfterAll
  static void stop() {
    harness.close();
  }

  /**
   * Runs a command against the harness's Temporal (task queue, shard count), database and
   * definitions, as each needs.
   */
  static Run cli(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    String command = args[1];
    if (!command.equals("export")) {
      all.addAll(
          List.of(
              "--address",
              harness.config.temporalAddress(),
              "--task-queue",
              harness.config.taskQueue(),
              "--shards",
              String.valueOf(harness.config.shards())));
    }
    if (command.equals("import"))
      all.addAll(List.of("--buckets", BUCKETS.toString(), "--wait", "60"));
    if (command.equals("import") || command.equals("export"))
      all.addAll(List.of("--db-url", harness.db.url()));
    return BucketsCommandTest.run(all.toArray(String[]::new));
  }

  static List<String> activeMembers(String bucket) {
    var m = BUCKET_MEMBERSHIPS;
    return harness
        .dsl()
        .select(m.USER_ID)
        .from(m)
        .where(
            m.BUCKET_ID
                .eq(bucket)
                .and(m.STATUS.eq(MembershipStatus.ACTIVE))
                .and(m.DELETED_AT.isNull()))
        .orderBy(m.USER_ID)
        .fetch(m.USER_ID);
  }

  static String summaryLine(Run r, String label) {
    return r.lines().stream()
        .filter(l -> l.strip().startsWith(label))
        .findFirst()
        .map(l -> l.strip().substring(label.length()).strip())
        .orElseThrow(() -> new AssertionError("no '" + label + "' in\n" + r.out() + r.err()));
  }

  @Test
  void importCountsAddedAlreadyMembersRejectedAndRefusedLines(@TempDir Path dir) throws Exception {
    assertThat(cli("buckets", "add", "vip", "pre-1").exit()).isZero();
    harness
        .ingestClient()
        .send(Json.MAPPER.readTree("{\"userId\":\"del-1\",\"event\":\"signup\"}"));
    assertThat(cli("contacts", "delete", "del-1").exit()).isZero();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                activeMembers("vip").equals(List.of("pre-1"))
                    && harness
                        .dsl()
                        .fetchExists(
                            CONTACTS,
                            CONTACTS.EXTERNAL_ID.eq("del-1").and(CONTACTS.DELETED_AT.isNotNull())));
    Path file =
        Files.writeString(
            dir.resolve("users.csv"),
            "user_id\npre-1\nn-1\nn-2\nn-1\n\nnul\0byte\n" + "x".repeat(257) + "\ndel-1\n");

    Run r = cli("buckets", "import", "vip", file.toString());

    // The summary is read after the shards applied the signals: no waiting needed here.
    assertThat(activeMembers("vip")).containsExactly("n-1", "n-2", "pre-1");
    assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(1); // some lines were not applied
    assertThat(r.out()).contains("9 line(s), header skipped");
    assertThat(summaryLine(r, "added:")).isEqualTo("2");
    assertThat(summaryLine(r, "already members:")).isEqualTo("2"); // pre-1, and n-1's second line
    assertThat(summaryLine(r, "rejected lines:"))
        .isEqualTo(
            "3  (empty id: 1, "
                + ImportLines.Reason.TOO_LONG.text
                + ": 1, id contains a NUL byte: 1)");
    assertThat(summaryLine(r, "refused by shards:"))
        .isEqualTo("1  (deleted: 1) (see rejected_events)");
    assertThat(r.err())
        .contains(file + ":6: empty id; not sent")
        .contains(file + ":7: id contains a NUL byte");
  }

  @Test
  void removeCountsRemovedAndNotMembers(@TempDir Path dir) throws Exception {
    Path adds = Files.writeString(dir.resolve("adds.csv"), "r-1\nr-2\n");
    Run added = cli("buckets", "import", "vip-remove", adds.toString());
    assertThat(added.exit()).as(added.out() + added.err()).isZero();
    assertThat(summaryLine(added, "added:")).isEqualTo("2");
    assertThat(added.out()).doesNotContain("header skipped");
    Path removes = Files.writeString(dir.resolve("removes.csv"), "id\r\nr-1\r\nr-x\r\nr-1\r\n");

    Run r = cli("buckets", "import", "vip-remove", removes.toString(), "--remove");

    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    assertThat(summaryLine(r, "removed:")).isEqualTo("1");
    assertThat(summaryLine(r, "not members:")).isEqualTo("2");
    assertThat(summaryLine(r, "rejected lines:")).isEqualTo("0");
    assertThat(activeMembers("vip-remove")).containsExactly("r-2");
  }

  @Test
  void importRefusesADynamicBucketUpFront(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("users.csv"), "dyn-1\n");

    Run r = cli("buckets", "import", "signed-up", file.toString());

    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("bucket 'signed-up' is not a manual bucket");
    assertThat(harness.dsl().fetchExists(CONTACTS, CONTACTS.EXTERNAL_ID.eq("dyn-1"))).isFalse();
  }

  @Test
  void exportThenImportIntoAnotherBucketRoundTripsEveryId(@TempDir Path dir) throws Exception {
    List<String> ids =
        List.of("plain", "a,b", "say \"hi\"", "two\nlines", "crlf\r\nid", "userId", " padded ");
    StringBuilder seed = new StringBuilder();
    for (String id : ids) seed.append(dev.bucketflow.csv.Csv.field(id)).append('\n');
    Run seeded =
        cli(
            "buckets",
            "import",
            "rt-src",
            Files.writeString(dir.resolve("seed.csv"), seed).toString());
    assertThat(seeded.exit()).as(seeded.out() + seeded.err()).isZero();
    assertThat(summaryLine(seeded, "added:"))
        .isEqualTo(String.valueOf(ids.size())); // line 1 "plain" is no header

    Run exported = cli("buckets", "export", "rt-src");
    assertThat(exported.exit()).as(exported.err()).isZero();
    Path file = Files.writeString(dir.resolve("export.csv"), exported.out());
    Run imported = cli("buckets", "import", "rt-dst", file.toString());
    assertThat(imported.exit()).as(imported.out() + imported.err()).isZero();
    assertThat(imported.out()).contains("header skipped");
    assertThat(summaryLine(imported, "added:")).isEqualTo(String.valueOf(ids.size()));
    Run again = cli("buckets", "export", "rt-dst");

    assertThat(idsOf(again.out())).containsExactlyInAnyOrderElementsOf(ids);
    assertThat(idsOf(again.out())).containsExactlyElementsOf(idsOf(exported.out()));
    assertThat(activeMembers("rt-dst")).containsExactlyInAnyOrderElementsOf(ids);
  }

  static List<String> idsOf(String csv) throws Exception {
    List<String> ids = new ArrayList<>();
    try (ImportLines lines = new ImportLines(new StringReader(csv))) {
      for (ImportLines.Line l = lines.next(); l != null; l = lines.next())
        if (l.userId() != null) ids.add(l.userId());
    }
    return ids;
  }
}
