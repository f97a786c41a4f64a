package dev.bucketflow.worker;

import static dev.bucketflow.worker.BucketsCommandTest.run;
import static dev.bucketflow.worker.BucketsCommandTest.runDb;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.worker.BucketsCommandTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code buckets export} against a real database, and the checks {@code buckets import} makes
 * before it sends anything (the sending itself needs a worker: {@link BucketCsvImportIT}).
 */
class BucketCsvCommandsTest extends DatabaseTest {

  @BeforeEach
  void clean() {
    dsl.execute(
        "TRUNCATE bucket_configs, bucket_memberships, bucket_transitions, rejected_events RESTART IDENTITY");
  }

  private static void seed() {
    dsl.execute(
        "INSERT INTO bucket_configs (bucket_id, enabled) VALUES ('vip', true), ('empty', true)");
    dsl.execute(
        """
        INSERT INTO bucket_memberships (user_id, bucket_id, status, entered_at, left_at, expires_at, entry_count, source)
        VALUES ('u2',          'vip', 'active', '2026-01-02T10:00:00Z', NULL, '2026-02-01T00:00:00Z', 3, 'manual'),
               ('u1',          'vip', 'active', '2026-01-01T10:00:00.5Z', NULL, NULL, 1, 'manual'),
               ('a,b',         'vip', 'active', '2026-01-03T10:00:00Z', NULL, NULL, 1, 'manual'),
               ('say "hi"',    'vip', 'active', '2026-01-04T10:00:00Z', NULL, NULL, 1, 'manual'),
               (E'two\\nlines', 'vip', 'active', '2026-01-05T10:00:00Z', NULL, NULL, 1, 'manual'),
               ('gone',        'vip', 'active', '2026-01-06T10:00:00Z', NULL, NULL, 1, 'manual'),
               ('u1',          'vip', 'left',   '2025-12-01T10:00:00Z', '2025-12-20T00:00:00Z', NULL, 1, 'manual'),
               ('u3',          'vip', 'left',   '2025-11-01T10:00:00Z', '2025-11-02T00:00:00Z', NULL, 1, 'manual'),
               ('other',       'dyn', 'active', '2026-01-01T10:00:00Z', NULL, NULL, 1, 'event')
        """);
    dsl.execute("UPDATE bucket_memberships SET deleted_at = now() WHERE user_id = 'gone'");
  }

  @Test
  void exportWritesActiveMembersAsCsvOrderedByUser() {
    seed();

    Run r = runDb("buckets", "export", "vip");

    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out())
        .isEqualTo(
            """
        userId,enteredAt,entryCount,expiresAt
        "a,b",2026-01-03T10:00:00Z,1,
        "say ""hi\""",2026-01-04T10:00:00Z,1,
        "two
        lines",2026-01-05T10:00:00Z,1,
        u1,2026-01-01T10:00:00.500Z,1,
        u2,2026-01-02T10:00:00Z,3,2026-02-01T00:00:00Z
        """);
  }

  @Test
  void exportWithStatusLeftWritesPastStays() {
    seed();

    Run r = runDb("buckets", "export", "vip", "--status", "left");

    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.lines())
        .containsExactly(
            BucketCsvCommands.HEADER, "u1,2025-12-01T10:00:00Z,1,", "u3,2025-11-01T10:00:00Z,1,");
    assertThat(runDb("buckets", "export", "vip", "--status", "active").out())
        .isEqualTo(runDb("buckets", "export", "vip").out());
  }

  @Test
  void exportOfAKnownBucketWithoutMembersIsJustTheHeader() {
    seed();

    Run r = runDb("buckets", "export", "empty");

    assertThat(r.exit()).isZero();
    assertThat(r.lines()).containsExactly(BucketCsvCommands.HEADER);
  }

  @Test
  void exportRefusesAnUnknownBucketAndABadStatus() {
    seed();

    Run unknown = runDb("buckets", "export", "nope");
    assertThat(unknown.exit()).isEqualTo(1);
    assertThat(unknown.out()).isEmpty();
    assertThat(unknown.err()).contains("unknown bucket 'nope'");

    Run bad = runDb("buckets", "export", "vip", "--status", "gone");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).contains("--status must be active or left");
  }

  @Test
  void exportStreamsMoreRowsThanOneFetch() {
    dsl.execute(
        """
        INSERT INTO bucket_memberships (user_id, bucket_id, status, entered_at, entry_count, source)
        SELECT 'user-' || lpad(g::text, 6, '0'), 'big', 'active', '2026-01-01T00:00:00Z', 1, 'manual'
        FROM generate_series(1, 2500) g
        """);

    Run r = runDb("buckets", "export", "big");

    assertThat(r.exit()).as(r.err()).isZero();
    List<String> lines = r.lines();
    assertThat(lines).hasSize(2501);
    assertThat(lines.get(1)).startsWith("user-000001,");
    assertThat(lines.get(2500)).startsWith("user-002500,");
  }

  // ------------------------------------------------------------------ import: refused up front

  static Path definitions(Path dir) throws Exception {
    Files.writeString(dir.resolve("vip.json"), "{\"id\": \"vip\", \"kind\": \"manual\"}");
    Files.writeString(
        dir.resolve("dyn.json"),
        "{\"id\": \"dyn\", \"criteria\": {\"type\": \"event\", \"eventName\": \"signup\", \"check\": \"exists\"}}");
    return dir;
  }

  /**
   * An address nothing listens on: had the command tried to send, it would fail to reach Temporal
   * instead.
   */
  private static Run importing(Path defs, String... args) {
    String[] base = {
      "buckets",
      "import",
      "--buckets",
      defs.toString(),
      "--address",
      "127.0.0.1:" + WorkerHarness.freePort(),
      "--db-url",
      db.url()
    };
    String[] all = java.util.Arrays.copyOf(base, base.length + args.length);
    System.arraycopy(args, 0, all, base.length, args.length);
    return run(all);
  }

  @Test
  void importRefusesAnUnknownBucketBeforeSending(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("users.csv"), "u1\n");

    Run r =
        importing(definitions(Files.createDirectory(dir.resolve("defs"))), "vipp", file.toString());

    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err())
        .contains("unknown bucket 'vipp'")
        .contains("nothing was sent")
        .doesNotContain("Temporal");
  }

  @Test
  void importRefusesADynamicBucketBeforeSending(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("users.csv"), "u1\n");

    Run r =
        importing(
            definitions(Files.createDirectory(dir.resolve("defs"))),
            "dyn",
            file.toString(),
            "--remove");

    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err())
        .contains("bucket 'dyn' is not a manual bucket")
        .contains("nothing was sent");
  }

  @Test
  void importRefusesAMissingFile(@TempDir Path dir) throws Exception {
    Run r =
        importing(
            definitions(Files.createDirectory(dir.resolve("defs"))),
            "vip",
            dir.resolve("missing.csv").toString());

    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("no such file").contains("nothing was sent");
  }
}
