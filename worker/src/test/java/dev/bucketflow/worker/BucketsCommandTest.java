package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.testing.DatabaseTest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** {@code bucketflow buckets ...} run in-process against a fresh database. */
class BucketsCommandTest extends DatabaseTest {

  record Run(int exit, String out, String err) {
    List<String> lines() {
      return out.lines().toList();
    }
  }

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new Main());
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  /** Runs a database command against the test database of the running class (DatabaseTest's). */
  static Run runDb(String... args) {
    String[] all = Arrays.copyOf(args, args.length + 2);
    all[args.length] = "--db-url";
    all[args.length + 1] = db.url();
    return run(all);
  }

  @BeforeEach
  void clean() {
    dsl.execute("TRUNCATE bucket_configs, bucket_memberships, bucket_transitions RESTART IDENTITY");
  }

  // ------------------------------------------------------------------ validate

  @Test
  void validateReportsEveryProblemWithItsPathAndExitsOne(@TempDir Path dir) throws Exception {
    Files.writeString(
        dir.resolve("bad.json"),
        """
        [
          {"id": "Bad_Id", "criteria": {"type": "event", "eventName": "signup", "check": "exists"}},
          {"id": "only-exclusion", "criteria": {"type": "property", "property": "plan", "operator": "neq", "value": "pro"}},
          {"id": "recursive", "criteria": {"type": "event", "eventName": "bucket:entered:x", "check": "exists"}}
        ]
        """);

    Run r = run("buckets", "validate", dir.toString());

    assertThat(r.exit()).isEqualTo(1);
    List<String> problems = r.lines().stream().filter(l -> l.matches("^\\S+: .+")).toList();
    assertThat(problems).hasSize(3);
    assertThat(problems.get(0)).startsWith("Bad_Id.id: ");
    assertThat(problems.get(1)).startsWith("only-exclusion.criteria: ");
    assertThat(problems.get(2)).startsWith("recursive.criteria.eventName: ");
    assertThat(r.out()).contains("3 problems in " + dir);
  }

  @Test
  void validateReportsAnUnparsableLegTogetherWithItsSiblingsAndTheBucketsProblems(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("my-bucket.json");
    Files.writeString(
        file,
        """
        {"id": "my-bucket", "minDwell": {"days": 2}, "maxDwell": {"days": 1},
         "criteria": {"type": "composite", "operator": "and", "conditions": [
           {"type": "property", "property": "plan", "operator": "sorta", "value": "x"},
           {"type": "event", "eventName": "bucket:entered:x", "check": "exists"}]}}
        """);

    Run r = run("buckets", "validate", file.toString());

    assertThat(r.exit()).isEqualTo(1);
    List<String> problems = r.lines().stream().filter(l -> l.matches("^\\S+: .+")).toList();
    assertThat(problems).hasSize(3);
    assertThat(problems.get(0))
        .startsWith("my-bucket.criteria.conditions[0].operator: unknown operator");
    assertThat(problems.get(1)).startsWith("my-bucket.criteria.conditions[1].eventName: ");
    assertThat(problems.get(2)).startsWith("my-bucket.maxDwell: ");
    assertThat(r.out()).contains("3 problems in " + file).doesNotContain("bucket(s) valid");
  }

  @Test
  void validateAcceptsTheExamples() {
    Run r = run("buckets", "validate", "../examples/buckets");

    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    assertThat(r.lines().get(0)).matches("\\d+ bucket\\(s\\) valid");
    assertThat(r.out()).contains("power-users", "went-dormant");
  }

  @Test
  void validateOfAMissingPathIsAProblem() {
    Run r = run("buckets", "validate", "no/such/dir");

    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.out()).contains("no/such/dir: no such file or directory", "1 problem in");
  }

  // ------------------------------------------------------------------ enable / disable

  @Test
  void disableThenEnableFlipsTheSwitchAndItsTimestamp() {
    Instant long_ago = Instant.parse("2020-01-01T00:00:00Z");
    dsl.insertInto(
            BUCKET_CONFIGS,
            BUCKET_CONFIGS.BUCKET_ID,
            BUCKET_CONFIGS.ENABLED,
            BUCKET_CONFIGS.UPDATED_AT)
        .values("power-users", true, long_ago)
        .execute();

    Run off = runDb("buckets", "disable", "power-users");
    assertThat(off.exit()).as(off.err()).isZero();
    assertThat(off.out()).contains("power-users: disabled (was enabled)", "TTL");
    var row = dsl.fetchOne(BUCKET_CONFIGS, BUCKET_CONFIGS.BUCKET_ID.eq("power-users"));
    assertThat(row.getEnabled()).isFalse();
    assertThat(row.getUpdatedAt()).isAfter(long_ago);

    Run again = runDb("buckets", "disable", "power-users");
    assertThat(again.exit()).isZero();
    assertThat(again.out()).contains("already disabled");

    Run on = runDb("buckets", "enable", "power-users");
    assertThat(on.exit()).as(on.err()).isZero();
    assertThat(on.out()).contains("power-users: enabled (was disabled)");
    assertThat(dsl.fetchValue(BUCKET_CONFIGS.ENABLED, BUCKET_CONFIGS.BUCKET_ID.eq("power-users")))
        .isTrue();
  }

  @Test
  void anUnknownIdIsRefusedUnlessAllowed() {
    Run refused = runDb("buckets", "disable", "power-user");
    assertThat(refused.exit()).isEqualTo(1);
    assertThat(refused.err()).contains("unknown bucket 'power-user'");
    assertThat(dsl.fetchCount(BUCKET_CONFIGS)).isZero();

    Run stored = runDb("buckets", "disable", "not-yet-deployed", "--allow-unknown");
    assertThat(stored.exit()).as(stored.err()).isZero();
    assertThat(stored.out()).contains("not-yet-deployed: disabled (new bucket_configs row)");
    assertThat(
            dsl.fetchValue(BUCKET_CONFIGS.ENABLED, BUCKET_CONFIGS.BUCKET_ID.eq("not-yet-deployed")))
        .isFalse();
  }

  // ------------------------------------------------------------------ list / members

  private static void seedRows() {
    dsl.execute(
        "INSERT INTO bucket_configs (bucket_id, enabled) VALUES ('alpha', true), ('beta', false)");
    dsl.execute(
        """
        INSERT INTO bucket_memberships (user_id, bucket_id, status, entered_at, left_at, expires_at, entry_count, source)
        VALUES ('u1', 'alpha', 'active', '2026-01-01T10:00:00Z', NULL, '2026-02-01T00:00:00Z', 2, 'event'),
               ('u1', 'alpha', 'left',   '2025-12-01T10:00:00Z', '2025-12-20T00:00:00Z', NULL, 1, 'event'),
               ('u2', 'alpha', 'active', '2026-01-02T10:00:00Z', NULL, NULL, 1, 'event'),
               ('u3', 'alpha', 'active', '2026-01-03T10:00:00Z', NULL, NULL, 1, 'event'),
               ('u4', 'gamma', 'active', '2026-01-04T10:00:00Z', NULL, NULL, 1, 'backfill')
        """);
    dsl.execute("UPDATE bucket_memberships SET deleted_at = now() WHERE user_id = 'u3'");
    dsl.execute(
        """
        INSERT INTO bucket_transitions (bucket_id, user_id, kind, epoch, source, emitted)
        VALUES ('alpha', 'u1', 'entered', 1, 'event', true),
               ('alpha', 'u1', 'left',    1, 'event', true),
               ('alpha', 'u1', 'entered', 2, 'event', false),
               ('alpha', 'u2', 'entered', 1, 'event', true)
        """);
  }

  @Test
  void listShowsOneRowPerBucketWithCounts() {
    seedRows();

    Run r = runDb("buckets", "list");

    assertThat(r.exit()).as(r.err()).isZero();
    List<List<String>> rows = r.lines().stream().map(l -> List.of(l.trim().split("\\s+"))).toList();
    assertThat(rows.get(0)).containsExactly("BUCKET", "ENABLED", "ACTIVE", "ENTERED", "LEFT");
    // alpha: u1 and u2 active (u3 soft-deleted), 3 joins (one suppressed), 1 leave.
    assertThat(rows.get(1)).containsExactly("alpha", "yes", "2", "3", "1");
    assertThat(rows.get(2)).containsExactly("beta", "no", "0", "0", "0");
    // gamma has members but no config row: on by default.
    assertThat(rows.get(3)).containsExactly("gamma", "yes*", "1", "0", "0");
    assertThat(r.out()).contains("* no bucket_configs row");
  }

  @Test
  void listOfAnEmptyDatabaseSaysSo() {
    Run r = runDb("buckets", "list");

    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("no buckets yet");
  }

  @Test
  void membersListsActiveMembersNewestFirstUpToTheLimit() {
    seedRows();

    Run all = runDb("buckets", "members", "alpha");
    assertThat(all.exit()).as(all.err()).isZero();
    List<String> lines = all.lines();
    assertThat(lines.get(0).split("\\s+"))
        .containsExactly("USER_ID", "ENTERED_AT", "ENTRY_COUNT", "EXPIRES_AT");
    assertThat(lines.get(1).split("\\s+")).containsExactly("u2", "2026-01-02T10:00:00Z", "1", "-");
    assertThat(lines.get(2).split("\\s+"))
        .containsExactly("u1", "2026-01-01T10:00:00Z", "2", "2026-02-01T00:00:00Z");
    assertThat(all.out()).contains("2 active members").doesNotContain("u3");

    Run one = runDb("buckets", "members", "alpha", "--limit", "1");
    assertThat(one.out())
        .contains("u2")
        .doesNotContain("u1 ")
        .contains("showing 1 of 2 active members");

    Run empty = runDb("buckets", "members", "beta");
    assertThat(empty.exit()).isZero();
    assertThat(empty.out()).contains("no active members");

    Run unknown = runDb("buckets", "members", "nope");
    assertThat(unknown.exit()).isEqualTo(1);
    assertThat(unknown.err()).contains("unknown bucket 'nope'");
  }

  // ------------------------------------------------------------------ errors

  @Test
  void anUnreachableDatabaseIsOneReadableErrorAndExitOne() {
    Run r = run("buckets", "list", "--db-url", "jdbc:postgresql://127.0.0.1:1/bucketflow");

    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err())
        .startsWith(
            "error: cannot connect to PostgreSQL at jdbc:postgresql://127.0.0.1:1/bucketflow")
        .doesNotContain("\tat ");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "--db-url=jdbc:postgresql://127.0.0.1:1/x?password=S3cret",
        "--db-url=jdbc:postgresql://127.0.0.1:1/x?user=u&sslpassword=S3cret&ssl=true",
        "--db-url=jdbc:postgresql://127.0.0.1:1/x?ApiToken=S3cret",
        "--db-url=postgres://u:S3cret@127.0.0.1:1/x",
        "--db-url=postgresql://u:S3cret@127.0.0.1:1/x",
        // The driver does not take userinfo: Hikari's refusal quotes the URL.
        "--db-url=jdbc:postgresql://u:S3cret@127.0.0.1:1/x",
        // Not a URI at all: the parser's message quotes it.
        "--db-url=postgres://u:S3cret@bad host/x",
        "--db-password=S3cret"
      })
  void aConnectionFailureNeverPrintsThePassword(String credential) {
    String[] args =
        credential.startsWith("--db-url")
            ? new String[] {"buckets", "list", credential}
            : new String[] {
              "buckets", "list", "--db-url", "jdbc:postgresql://127.0.0.1:1/x", credential
            };

    Run r = run(args);

    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).startsWith("error: ").doesNotContain("S3cret");
    assertThat(r.out()).doesNotContain("S3cret");
  }

  @Test
  void aDatabaseWithoutTheSchemaIsExplainedNotMigrated() {
    String bare = db.url().substring(0, db.url().lastIndexOf('/') + 1) + "postgres";

    Run r = run("buckets", "list", "--db-url", bare);

    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("has no Bucketflow schema").doesNotContain("\tat ");
  }
}
