package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;

import com.zaxxer.hikari.HikariDataSource;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.csv.Csv;
import dev.bucketflow.csv.ImportLines;
import dev.bucketflow.db.Database;
import dev.bucketflow.ingest.IngestClient;
import dev.bucketflow.ingest.PendingEvent;
import io.temporal.serviceclient.WorkflowServiceStubs;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.jooq.Condition;
import org.jooq.Cursor;
import org.jooq.DSLContext;
import org.jooq.Record4;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code buckets import <id> <file.csv> [--remove]} and {@code buckets export <id> [--status]}:
 * manual bucket membership as CSV, in and out, in constant memory whatever the file or bucket size.
 */
final class BucketCsvCommands {

  /** The export's header; the import recognises its first column ({@code userId}) as a header. */
  static final String HEADER = "userId,enteredAt,entryCount,expiresAt";

  /** Rows the export's cursor holds per round trip: the only rows in memory at a time. */
  static final int EXPORT_FETCH_SIZE = 1000;

  @Command(
      name = "import",
      mixinStandardHelpOptions = true,
      description = {
        "Add (or with --remove, remove) the users listed in a CSV file to a manual bucket.",
        "User ids are the first column; a first line whose first column is userId, user_id or id is a header.",
        "Each user's change travels through their ingest shard (addToBucket/removeFromBucket), in order with "
            + "their events; the summary counts what the shards actually did, read from the outbox once they applied it.",
        "Exits 0 when every line was applied, 1 when any line was rejected (or refused by a shard) or on errors."
      })
  static final class Import implements Callable<Integer> {

    @Spec CommandSpec spec;
    @Mixin TemporalOptions temporal;
    @Mixin QueueOptions queue;
    @Mixin DatabaseOptions database;

    @Parameters(index = "0", paramLabel = "<id>", description = "A manual bucket's id.")
    String bucketId;

    @Parameters(
        index = "1",
        paramLabel = "<file.csv>",
        description = "CSV file, UTF-8; user ids in the first column.")
    Path file;

    @Option(names = "--remove", description = "Remove the listed users instead of adding them.")
    boolean remove;

    @Option(
        names = "--buckets",
        defaultValue = "${env:BUCKETFLOW_BUCKETS:-examples/buckets}",
        description =
            "Bucket definitions the workers run, to check the bucket is manual before sending anything "
                + "(env BUCKETFLOW_BUCKETS, default ${DEFAULT-VALUE}).")
    Path buckets;

    @Option(
        names = "--parallelism",
        defaultValue = "8",
        description =
            "Signals in flight at once, shards spread over them; each signal carries up to "
                + IngestClient.MAX_EVENTS_PER_SIGNAL
                + " users of one shard (default ${DEFAULT-VALUE}).")
    int parallelism;

    @Option(
        names = "--wait",
        defaultValue = "600",
        description =
            "Seconds to wait, after sending, for the shards to apply everything (default ${DEFAULT-VALUE}).")
    long waitSeconds;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      if (parallelism < 1)
        throw new ParameterException(spec.commandLine(), "--parallelism must be at least 1");
      if (waitSeconds < 1)
        throw new ParameterException(spec.commandLine(), "--wait must be at least 1");
      try {
        Optional<String> refusal = refusal(Content.buckets(buckets, "*"));
        if (refusal.isPresent()) {
          err.println("error: " + refusal.get() + "; nothing was sent");
          return 1;
        }
        if (!Files.isRegularFile(file)) {
          err.println("error: no such file " + file + "; nothing was sent");
          return 1;
        }
        return run(out, err);
      } finally {
        out.flush();
        err.flush();
      }
    }

    /** Why the bucket cannot take an import, checked before anything is sent; empty when it can. */
    Optional<String> refusal(java.util.List<BucketDefinition> definitions) {
      Optional<BucketDefinition> bucket =
          definitions.stream().filter(b -> b.id().equals(bucketId)).findFirst();
      if (bucket.isEmpty()) {
        return Optional.of(
            "unknown bucket '" + bucketId + "': not defined in " + buckets + " (see --buckets)");
      }
      if (!bucket.get().manual()) {
        return Optional.of(
            "bucket '"
                + bucketId
                + "' is not a manual bucket (kind "
                + bucket.get().kind().json()
                + "): its members follow its criteria, so only manual buckets take an import");
      }
      return Optional.empty();
    }

    private int run(PrintWriter out, PrintWriter err) throws IOException, InterruptedException {
      String url = null;
      try {
        url = database.jdbcUrl();
        try (HikariDataSource ds = CliDatabase.open(database, 2)) {
          DSLContext dsl = Database.dsl(ds);
          ImportOutcome.Marks marks = ImportOutcome.Marks.now(dsl);
          WorkflowServiceStubs service = Temporal.connect(temporal.address);
          try {
            var client = Temporal.client(service, temporal.namespace);
            IngestClient ingest = new IngestClient(client, queue.taskQueue, queue.shards);
            String signal = remove ? PendingEvent.REMOVE_FROM_BUCKET : PendingEvent.ADD_TO_BUCKET;
            Sending sending = send(ingest, err);
            if (sending.failure != null) {
              err.println(
                  "error: sending "
                      + signal
                      + " failed after "
                      + sending.sent
                      + " user(s) were sent: "
                      + Main.readable(sending.failure));
              err.println(
                  "hint: re-running the import is safe (adding a member twice, or removing a non-member, changes nothing)");
              return 1;
            }
            long sentAt = System.nanoTime();
            boolean applied =
                sending.senders.awaitApplied(
                    client,
                    Duration.ofSeconds(waitSeconds),
                    new ProgressBar(err, System.console() != null));
            if (!applied) {
              err.println(
                  "error: the shards did not apply the changes of "
                      + sending.sent
                      + " user(s) within --wait "
                      + waitSeconds
                      + " s (is a worker running on task queue '"
                      + queue.taskQueue
                      + "'?); they stay queued and will apply; counts not reported");
              return 1;
            }
            double applySeconds = (System.nanoTime() - sentAt) / 1e9;
            ImportOutcome outcome = ImportOutcome.count(dsl, marks, bucketId, remove, sending.sent);
            summarize(out, sending, outcome, signal, applySeconds);
            return sending.rejectedTotal() == 0 && outcome.refusedTotal() == 0 ? 0 : 1;
          } finally {
            service.shutdown();
          }
        }
      } catch (CliDatabase.Failure | org.jooq.exception.DataAccessException e) {
        // Database trouble reads as one line; anything else (Temporal) goes to Main's handler.
        err.println("error: " + CliDatabase.explain(e, url, database.password).getMessage());
        return 1;
      }
    }

    /** What reading and sending did. */
    static final class Sending {
      long records;
      boolean header;
      long sent;
      long signals;
      final Map<ImportLines.Reason, Long> rejected = new EnumMap<>(ImportLines.Reason.class);
      RuntimeException failure;
      double seconds;
      ShardSenders senders;

      long rejectedTotal() {
        return rejected.values().stream().mapToLong(Long::longValue).sum();
      }
    }

    /**
     * Streams the file through bounded per-shard queues; rejected lines go to {@code err} (the
     * first 20).
     */
    private Sending send(IngestClient ingest, PrintWriter err)
        throws IOException, InterruptedException {
      long totalLines = physicalLines(file);
      ProgressBar bar = new ProgressBar(err, System.console() != null);
      Sending s = new Sending();
      long start = System.nanoTime();
      long lastDraw = 0;
      long line = 0;
      long shown = 0;
      String what = remove ? "removeFromBucket" : "addToBucket";
      try (ShardSenders senders =
              new ShardSenders(ingest, queue.shards, parallelism, bucketId, remove);
          ImportLines lines = new ImportLines(reader(file))) {
        s.senders = senders;
        for (ImportLines.Line l = lines.next(); l != null; l = lines.next()) {
          s.records++;
          line = l.number();
          if (l.header()) {
            s.header = true;
          } else if (l.rejected() != null) {
            s.rejected.merge(l.rejected(), 1L, Long::sum);
            if (shown++ < 20)
              err.println(file + ":" + l.number() + ": " + l.rejected().text + "; not sent");
          } else if (!senders.submit(l.userId())) {
            break; // a sender failed; the failure is reported below
          }
          long now = System.nanoTime();
          if (now - lastDraw > 100_000_000L) {
            lastDraw = now;
            bar.show(line, totalLines, "lines", String.format("%s sent %,d", what, senders.sent()));
          }
        }
        senders.finish();
        s.sent = senders.sent();
        s.signals = senders.signals();
        s.failure = senders.failure();
      }
      s.seconds = (System.nanoTime() - start) / 1e9;
      bar.show(line, totalLines, "lines", String.format("%s sent %,d", what, s.sent));
      bar.end();
      if (shown > 20) err.println("... and " + (shown - 20) + " more rejected line(s)");
      return s;
    }

    private void summarize(
        PrintWriter out, Sending s, ImportOutcome o, String signal, double applySeconds) {
      out.printf(
          "import %s into %s%s: %,d line(s)%s%n",
          file,
          bucketId,
          remove ? " (--remove)" : "",
          s.records,
          s.header ? ", header skipped" : "");
      out.printf("  %-17s %,d%n", remove ? "removed:" : "added:", o.changed());
      out.printf("  %-17s %,d%n", remove ? "not members:" : "already members:", o.unchanged());
      out.printf("  %-17s %,d%s%n", "rejected lines:", s.rejectedTotal(), reasons(s.rejected));
      if (o.refusedTotal() > 0) {
        out.printf(
            "  %-17s %,d%s (see rejected_events)%n",
            "refused by shards:", o.refusedTotal(), reasons(o.refused()));
      }
      if (o.overcounted()) {
        out.println(
            "  note: the outbox holds more manual changes of this bucket than were sent: another operator "
                + "changed it during the import; the counts include their changes");
      }
      out.printf(
          "sent %,d user(s) in %,d %s signal(s) in %.1f s (%,.0f users/s); the shards applied them %.1f s later%n",
          s.sent, s.signals, signal, s.seconds, s.sent / Math.max(0.001, s.seconds), applySeconds);
    }

    private static String reasons(Map<?, Long> counts) {
      if (counts.isEmpty()) return "";
      StringBuilder b = new StringBuilder("  (");
      counts.forEach(
          (reason, n) ->
              b.append(b.length() > 3 ? ", " : "")
                  .append(reason instanceof ImportLines.Reason r ? r.text : reason)
                  .append(": ")
                  .append(n));
      return b.append(')').toString();
    }

    /**
     * UTF-8, undecodable bytes replaced (then refused per line as invalid UTF-8) rather than
     * failing mid-file.
     */
    static Reader reader(Path file) throws IOException {
      var decoder =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPLACE)
              .onUnmappableCharacter(CodingErrorAction.REPLACE);
      return new java.io.BufferedReader(
          new java.io.InputStreamReader(Files.newInputStream(file), decoder), 1 << 16);
    }

    /**
     * Line breaks in the file (plus an unterminated last line): the progress bar's total, counted
     * in one streaming pass.
     */
    static long physicalLines(Path file) throws IOException {
      long lines = 0;
      int last = -1;
      byte[] buf = new byte[1 << 16];
      try (InputStream in = Files.newInputStream(file)) {
        for (int n = in.read(buf); n > 0; n = in.read(buf)) {
          for (int i = 0; i < n; i++) if (buf[i] == '\n') lines++;
          last = buf[n - 1];
        }
      }
      return last >= 0 && last != '\n' ? lines + 1 : lines;
    }
  }

  @Command(
      name = "export",
      mixinStandardHelpOptions = true,
      description = {
        "Write a bucket's members to stdout as CSV: " + HEADER + ".",
        "Instants are ISO-8601 (UTC), empty when null; ids holding a comma, quote, CR or LF are quoted (RFC 4180).",
        "Rows stream from a database cursor ("
            + EXPORT_FETCH_SIZE
            + " at a time), ordered by userId."
      })
  static final class Export extends BucketsCommand.DatabaseCommand {

    @Parameters(paramLabel = "<id>", description = "Bucket id.")
    String bucketId;

    @Option(
        names = "--status",
        defaultValue = "active",
        description =
            "active (current members, the default) or left (past memberships: one row per stay).")
    String status;

    @Override
    void check() {
      if (!status.equals("active") && !status.equals("left")) {
        throw new ParameterException(
            spec.commandLine(), "--status must be active or left, got '" + status + "'");
      }
    }

    @Override
    int run(DSLContext dsl, PrintWriter out) {
      var m = BUCKET_MEMBERSHIPS;
      if (!dsl.fetchExists(BUCKET_CONFIGS, BUCKET_CONFIGS.BUCKET_ID.eq(bucketId))
          && !dsl.fetchExists(m, m.BUCKET_ID.eq(bucketId))) {
        spec.commandLine()
            .getErr()
            .println(
                "error: unknown bucket '"
                    + bucketId
                    + "' (no bucket_configs row and no memberships); see 'bucketflow buckets list'");
        return 1;
      }
      Condition rows =
          m.BUCKET_ID
              .eq(bucketId)
              .and(m.STATUS.eq(MembershipStatus.fromDb(status)))
              .and(m.DELETED_AT.isNull());
      // PostgreSQL only streams with a fetch size inside a transaction (autocommit off); otherwise
      // the driver would read the whole result before the first row.
      dsl.transaction(
          cfg -> {
            try (Cursor<Record4<String, Instant, Integer, Instant>> cursor =
                cfg.dsl()
                    .select(m.USER_ID, m.ENTERED_AT, m.ENTRY_COUNT, m.EXPIRES_AT)
                    .from(m)
                    .where(rows)
                    .orderBy(m.USER_ID, m.ENTERED_AT, m.ID)
                    .fetchSize(EXPORT_FETCH_SIZE)
                    .fetchLazy()) {
              out.write(HEADER + "\n");
              long n = 0;
              for (Record4<String, Instant, Integer, Instant> r : cursor) {
                out.write(
                    Csv.field(r.value1())
                        + ','
                        + instant(r.value2())
                        + ','
                        + r.value3()
                        + ','
                        + instant(r.value4())
                        + '\n');
                // A PrintWriter swallows write errors: stop reading once stdout is gone (| head).
                if (++n % EXPORT_FETCH_SIZE == 0 && out.checkError()) break;
              }
            }
          });
      return 0;
    }

    private static String instant(Instant i) {
      return i == null ? "" : i.toString();
    }
  }

  private BucketCsvCommands() {}
}
