package dev.bucketflow.worker;

import static dev.bucketflow.bucket.MembershipStatus.ACTIVE;
import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;

import com.zaxxer.hikari.HikariDataSource;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.BucketValidator;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.LoadResult;
import dev.bucketflow.bucket.Problem;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.db.Database;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jooq.CommonTableExpression;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code bucketflow buckets ...}: check definition files, and read or flip what the database holds
 * about buckets. Database commands take {@code --db-url} (default: the dev mode's database), open a
 * pool of at most two connections, never run migrations, and turn connection and schema errors into
 * one readable line and exit code 1.
 */
@Command(
    name = "buckets",
    mixinStandardHelpOptions = true,
    description =
        "Validate bucket definitions; list buckets, their members, and flip their run-time switch.",
    subcommands = {
      BucketsCommand.Validate.class,
      BucketsCommand.ListBuckets.class,
      BucketsCommand.Members.class,
      BucketsCommand.Enable.class,
      BucketsCommand.Disable.class,
      ManualBucketCommands.Add.class,
      ManualBucketCommands.Remove.class,
      BucketCsvCommands.Import.class,
      BucketCsvCommands.Export.class,
      BackfillCommand.class
    })
final class BucketsCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(
        spec.commandLine(),
        "Missing subcommand: validate, list, members, enable, disable, add, remove, import, export or backfill");
  }

  // ------------------------------------------------------------------ validate

  @Command(
      name = "validate",
      mixinStandardHelpOptions = true,
      description = {
        "Check bucket definitions exactly as a worker does at boot, without a database.",
        "Prints every problem as 'path: message' and exits 1 on any; otherwise prints 'N bucket(s) valid' and exits 0."
      })
  static final class Validate implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Parameters(
        paramLabel = "<file|dir>",
        description = "A JSON file (one definition or an array) or a directory of *.json files.")
    Path path;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      LoadResult result = BucketJson.load(path);
      if (!result.ok()) {
        for (Problem p : result.problems()) out.println(p);
        int n = result.problems().size();
        out.println(n + " problem" + (n == 1 ? "" : "s") + " in " + path);
        out.flush();
        return 1;
      }
      out.println(result.buckets().size() + " bucket(s) valid");
      for (BucketDefinition b : result.buckets())
        out.println("  " + b.id() + "  (" + summary(b) + ")");
      out.flush();
      return 0;
    }

    static String summary(BucketDefinition b) {
      List<String> parts = new ArrayList<>();
      parts.add(b.kind().json());
      if (b.timeBased()) parts.add("time-based");
      if (b.reconcilesJoins()) parts.add("clock joins");
      if (b.fastExpiry()) parts.add("fast expiry");
      String limit = b.entryLimit().json();
      if (b.entryLimit() == EntryLimit.ONCE_PER_PERIOD && b.entryPeriod() != null)
        limit += " per " + human(b.entryPeriod());
      parts.add("entry " + limit);
      if (b.minDwell() != null) parts.add("min dwell " + human(b.minDwell()));
      if (b.maxDwell() != null) parts.add("max dwell " + human(b.maxDwell()));
      if (!b.enabled()) parts.add("disabled in file");
      return String.join(", ", parts);
    }

    /** {@code 7d}, {@code 12h}, {@code 90m}, {@code 45s}; ISO-8601 otherwise. */
    static String human(Duration d) {
      long s = d.getSeconds();
      if (d.getNano() != 0 || s <= 0) return d.toString();
      if (s % 86_400 == 0) return s / 86_400 + "d";
      if (s % 3_600 == 0) return s / 3_600 + "h";
      if (s % 60 == 0) return s / 60 + "m";
      return s + "s";
    }
  }

  // ------------------------------------------------------------------ database commands

  /**
   * Opens the database, runs {@link #run}, and reports failures as one line on stderr with exit 1.
   */
  abstract static class DatabaseCommand implements Callable<Integer> {

    @Spec CommandSpec spec;
    @Mixin DatabaseOptions database;

    abstract int run(DSLContext dsl, PrintWriter out);

    /** Argument checks that need no database; throw {@link ParameterException}. */
    void check() {}

    @Override
    public Integer call() {
      check();
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      String url = null;
      try {
        url = database.jdbcUrl();
        try (HikariDataSource ds = CliDatabase.open(database, 2)) {
          return run(Database.dsl(ds), out);
        }
      } catch (RuntimeException e) {
        err.println("error: " + CliDatabase.explain(e, url, database.password).getMessage());
        return 1;
      } finally {
        out.flush();
        err.flush();
      }
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = {
        "Every bucket the database knows, by id: its run-time switch, active members, and the joins and leaves recorded so far.",
        "entered/left count transition rows (joins whose event the entryLimit suppressed included)."
      })
  static final class ListBuckets extends DatabaseCommand {

    /** One row per bucket id found in bucket_configs, active memberships or transitions. */
    record Row(String id, Boolean enabled, long active, long entered, long left) {}

    /**
     * One statement: two GROUP BY aggregates joined to the union of known ids, so a bucket with a
     * config row and no members shows zeros, and rows of a bucket without a config still show up.
     */
    static List<Row> fetch(DSLContext dsl) {
      var c = BUCKET_CONFIGS;
      var m = BUCKET_MEMBERSHIPS;
      var t = BUCKET_TRANSITIONS;
      CommonTableExpression<?> act =
          DSL.name("act")
              .fields("bucket_id", "active")
              .as(
                  DSL.select(m.BUCKET_ID, DSL.count())
                      .from(m)
                      .where(m.STATUS.eq(ACTIVE).and(m.DELETED_AT.isNull()))
                      .groupBy(m.BUCKET_ID));
      CommonTableExpression<?> tr =
          DSL.name("tr")
              .fields("bucket_id", "entered", "left_total")
              .as(
                  DSL.select(
                          t.BUCKET_ID,
                          DSL.count().filterWhere(t.KIND.eq(TransitionKind.ENTERED)),
                          DSL.count().filterWhere(t.KIND.eq(TransitionKind.LEFT)))
                      .from(t)
                      .groupBy(t.BUCKET_ID));
      Field<String> actId = act.field("bucket_id", String.class);
      Field<String> trId = tr.field("bucket_id", String.class);
      Table<?> ids =
          DSL.select(c.BUCKET_ID)
              .from(c)
              .union(DSL.select(actId).from(act))
              .union(DSL.select(trId).from(tr))
              .asTable("ids", "bucket_id");
      Field<String> id = ids.field("bucket_id", String.class);
      List<Row> rows = new ArrayList<>();
      for (Record r :
          dsl.with(act)
              .with(tr)
              .select(
                  id,
                  c.ENABLED,
                  DSL.coalesce(act.field("active", Integer.class), 0),
                  DSL.coalesce(tr.field("entered", Integer.class), 0),
                  DSL.coalesce(tr.field("left_total", Integer.class), 0))
              .from(ids)
              .leftJoin(c)
              .on(c.BUCKET_ID.eq(id))
              .leftJoin(act)
              .on(actId.eq(id))
              .leftJoin(tr)
              .on(trId.eq(id))
              .orderBy(id)
              .fetch()) {
        rows.add(
            new Row(
                r.get(0, String.class),
                r.get(1, Boolean.class),
                r.get(2, Long.class),
                r.get(3, Long.class),
                r.get(4, Long.class)));
      }
      return rows;
    }

    @Override
    int run(DSLContext dsl, PrintWriter out) {
      List<Row> rows = fetch(dsl);
      if (rows.isEmpty()) {
        out.println(
            "no buckets yet (bucket_configs is empty: a worker registers its buckets when it starts)");
        return 0;
      }
      TextTable table = new TextTable("BUCKET", "ENABLED", "ACTIVE", "ENTERED", "LEFT");
      boolean footnote = false;
      for (Row r : rows) {
        String enabled = r.enabled() == null ? "yes*" : r.enabled() ? "yes" : "no";
        footnote |= r.enabled() == null;
        table.row(r.id(), enabled, r.active(), r.entered(), r.left());
      }
      table.print(out);
      if (footnote) out.println("* no bucket_configs row: on by default");
      return 0;
    }
  }

  @Command(
      name = "members",
      mixinStandardHelpOptions = true,
      description = "Active members of a bucket, most recent joins first.")
  static final class Members extends DatabaseCommand {

    @Parameters(paramLabel = "<id>", description = "Bucket id.")
    String bucketId;

    @Option(
        names = "--limit",
        defaultValue = "100",
        description = "At most this many members (default ${DEFAULT-VALUE}).")
    int limit;

    @Override
    void check() {
      if (limit < 1) throw new ParameterException(spec.commandLine(), "--limit must be at least 1");
    }

    @Override
    int run(DSLContext dsl, PrintWriter out) {
      var m = BUCKET_MEMBERSHIPS;
      Condition active =
          m.BUCKET_ID.eq(bucketId).and(m.STATUS.eq(ACTIVE)).and(m.DELETED_AT.isNull());
      var rows =
          dsl.select(m.USER_ID, m.ENTERED_AT, m.ENTRY_COUNT, m.EXPIRES_AT)
              .from(m)
              .where(active)
              .orderBy(m.ENTERED_AT.desc(), m.USER_ID)
              .limit(limit)
              .fetch();
      if (rows.isEmpty()) {
        boolean known =
            dsl.fetchExists(BUCKET_CONFIGS, BUCKET_CONFIGS.BUCKET_ID.eq(bucketId))
                || dsl.fetchExists(m, m.BUCKET_ID.eq(bucketId));
        if (!known) {
          spec.commandLine()
              .getErr()
              .println(
                  "error: unknown bucket '"
                      + bucketId
                      + "' (no bucket_configs row and no memberships); see 'bucketflow buckets list'");
          return 1;
        }
        out.println("bucket " + bucketId + " has no active members");
        return 0;
      }
      TextTable table = new TextTable("USER_ID", "ENTERED_AT", "ENTRY_COUNT", "EXPIRES_AT");
      for (var r : rows) {
        table.row(r.value1(), r.value2(), r.value3(), r.value4() == null ? "-" : r.value4());
      }
      table.print(out);
      int total = rows.size() < limit ? rows.size() : dsl.fetchCount(m, active);
      out.println(
          total > rows.size()
              ? "showing "
                  + rows.size()
                  + " of "
                  + total
                  + " active members (--limit "
                  + limit
                  + ")"
              : total + " active member" + (total == 1 ? "" : "s"));
      return 0;
    }
  }

  /** Writes {@code bucket_configs.enabled} for one bucket. */
  abstract static class Switch extends DatabaseCommand {

    @Parameters(paramLabel = "<id>", description = "Bucket id.")
    String bucketId;

    @Option(
        names = "--allow-unknown",
        description =
            "Store the switch even when no worker has registered this bucket yet "
                + "(without it, an unknown id is refused, so a typo cannot silently miss the bucket you meant).")
    boolean allowUnknown;

    abstract boolean target();

    @Override
    int run(DSLContext dsl, PrintWriter out) {
      boolean enabled = target();
      var c = BUCKET_CONFIGS;
      Field<Instant> now = DSL.field(DSL.raw("now()"), SQLDataType.INSTANT);
      record Outcome(Boolean before, boolean after, Instant at) {}
      Outcome outcome =
          dsl.transactionResult(
              cfg -> {
                DSLContext tx = cfg.dsl();
                Boolean before =
                    tx.select(c.ENABLED)
                        .from(c)
                        .where(c.BUCKET_ID.eq(bucketId))
                        .forUpdate()
                        .fetchOne(c.ENABLED);
                if (before == null && !allowUnknown) return null;
                if (before != null && before == enabled) return new Outcome(before, enabled, null);
                var r =
                    tx.insertInto(c, c.BUCKET_ID, c.ENABLED, c.UPDATED_AT)
                        .values(DSL.val(bucketId), DSL.val(enabled), now)
                        .onConflict(c.BUCKET_ID)
                        .doUpdate()
                        .set(c.ENABLED, enabled)
                        .set(c.UPDATED_AT, now)
                        .returning(c.ENABLED, c.UPDATED_AT)
                        .fetchOne();
                return new Outcome(before, r.get(c.ENABLED), r.get(c.UPDATED_AT));
              });
      String state = enabled ? "enabled" : "disabled";
      if (outcome == null) {
        spec.commandLine()
            .getErr()
            .println(
                "error: unknown bucket '"
                    + bucketId
                    + "': no bucket_configs row "
                    + "(a worker creates it when it loads the bucket); check the id with 'bucketflow buckets list', "
                    + "or pass --allow-unknown to store the switch ahead of the bucket");
        return 1;
      }
      if (outcome.at() == null) {
        out.println("bucket " + bucketId + " is already " + state + " (nothing changed)");
        return 0;
      }
      if (outcome.before() == null && !BucketValidator.ID_PATTERN.matcher(bucketId).matches()) {
        out.println(
            "warning: '"
                + bucketId
                + "' is not a valid bucket id; no definition can ever use this switch");
      }
      out.println(
          "bucket "
              + bucketId
              + ": "
              + (outcome.after() ? "enabled" : "disabled")
              + (outcome.before() == null
                  ? " (new bucket_configs row)"
                  : " (was " + (outcome.before() ? "enabled" : "disabled") + ")")
              + " at "
              + outcome.at());
      out.println(
          "Running workers pick this up within their enabled-switch cache TTL "
              + "(--enabled-switch-ttl, env BUCKETFLOW_ENABLED_TTL_SECONDS, default 5 s); "
              + (enabled
                  ? "events are evaluated for this bucket again from then on."
                  : "from then on events no longer evaluate this bucket."));
      return 0;
    }
  }

  @Command(
      name = "enable",
      mixinStandardHelpOptions = true,
      description = "Turn a bucket on at run time (bucket_configs.enabled = true).")
  static final class Enable extends Switch {
    @Override
    boolean target() {
      return true;
    }
  }

  @Command(
      name = "disable",
      mixinStandardHelpOptions = true,
      description =
          "Turn a bucket off at run time (bucket_configs.enabled = false): the kill switch.")
  static final class Disable extends Switch {
    @Override
    boolean target() {
      return false;
    }
  }
}
