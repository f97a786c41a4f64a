package dev.bucketflow.worker;

import com.zaxxer.hikari.HikariDataSource;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.db.Database;
import dev.bucketflow.db.EmbeddedDatabase;
import dev.bucketflow.reconcile.ReconcileBench;
import java.io.PrintWriter;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.jooq.DSLContext;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code bench reconcile}: the set-based reconcile sweep ({@code ReconcileService}, built by {@link
 * Assembly} and driven in activity parts as the reconcile workflow drives it, with a fixed clock)
 * against the naive per-member reconcile (one transaction per member: lock, load state, in-memory
 * Evaluator, leave), in one run, on the same generated data ({@link ReconcileBench}).
 *
 * <p>The data is generated once into a throwaway embedded PostgreSQL and copied (a template copy)
 * before either method touches it: the baseline runs on the copy, the sweep on the original, so
 * both start from the same state. The baseline is far too slow to run over every member, so it runs
 * on an evenly spread sample and its rate is extrapolated; the output says so. On the sample, the
 * sets of members each method made leave are compared: they must be equal.
 */
@Command(
    name = "reconcile",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Members/second of the set-based reconcile sweep (a) against a per-member baseline (b: one "
          + "transaction per member, in-memory Evaluator) on the same generated data, in one run on a throwaway "
          + "embedded PostgreSQL. (b) runs on a sample and is extrapolated.",
      "Ends with 'set-based vs per-member: <n.n>x'."
    })
final class BenchReconcileCommand implements Callable<Integer> {

  /**
   * The sweep instant: every method evaluates at it, and events occur over the 60 days before it.
   */
  static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");

  @Spec CommandSpec spec;

  @Option(
      names = "--members",
      defaultValue = "100000",
      description = "Contacts, each an active member of both buckets (default ${DEFAULT-VALUE}).")
  int members;

  @Option(
      names = "--events",
      defaultValue = "3000000",
      description = "Events, at least 8 per member (default ${DEFAULT-VALUE}).")
  int events;

  @Option(
      names = "--leave-percent",
      defaultValue = "25",
      description =
          "Share of each bucket's members whose events aged out, due to leave at the sweep (default ${DEFAULT-VALUE}).")
  int leavePercent;

  @Option(
      names = "--sample",
      defaultValue = "2000",
      description =
          "Members per bucket the per-member baseline evaluates; at least --members runs it whole (default ${DEFAULT-VALUE}).")
  int sample;

  @Option(
      names = "--warmup",
      defaultValue = "200",
      description =
          "Sampled members whose state the baseline loads and evaluates untimed first (JIT) (default ${DEFAULT-VALUE}).")
  int warmup;

  @Option(
      names = "--chunk",
      defaultValue = "1000",
      description =
          "Rows per sweep chunk, as the worker's --reconcile-chunk (default ${DEFAULT-VALUE}).")
  int chunk;

  @Option(
      names = "--parallelism",
      defaultValue = "" + dev.bucketflow.reconcile.ReconcileService.DEFAULT_PARALLELISM,
      description =
          "Clock-leave chunks the sweep runs at once, as the worker's --reconcile-parallelism (default ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(
      names = "--explain",
      description =
          "Print EXPLAIN (ANALYZE, BUFFERS) of the leave statement the sweep runs for a chunk in the middle "
              + "of each bucket (the SQL jOOQ rendered, run in a savepoint that is rolled back; its time is excluded), "
              + "and the sweep's statements by total time.")
  boolean explain;

  /** What a run measured, per bucket, and the overall ratio (the last line). */
  record Report(
      List<ReconcileBench.Baseline> baselines,
      List<ReconcileBench.Sweep> sweeps,
      double ratio,
      boolean agreed) {}

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    try {
      return run(out).agreed() ? 0 : 1;
    } finally {
      out.flush();
    }
  }

  private void check() {
    if (members < 1)
      throw new ParameterException(spec.commandLine(), "--members must be at least 1");
    if ((long) events < (long) members * ReconcileBench.MIN_EVENTS_PER_MEMBER) {
      throw new ParameterException(
          spec.commandLine(),
          "--events must be at least " + ReconcileBench.MIN_EVENTS_PER_MEMBER + " per member");
    }
    if (leavePercent < 0 || leavePercent > 100)
      throw new ParameterException(spec.commandLine(), "--leave-percent must be 0..100");
    if (sample < 1) throw new ParameterException(spec.commandLine(), "--sample must be at least 1");
    if (warmup < 0)
      throw new ParameterException(spec.commandLine(), "--warmup must not be negative");
    if (chunk < 1) throw new ParameterException(spec.commandLine(), "--chunk must be at least 1");
    try {
      dev.bucketflow.reconcile.ReconcileService.checkParallelism(parallelism, "--parallelism");
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  private java.util.Optional<CpuSteal> stealFrom = java.util.Optional.empty();

  Report run(PrintWriter out) throws Exception {
    check();
    CliDatabase.quietLibraries();
    Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    List<BucketDefinition> buckets = ReconcileBench.BUCKETS;
    out.printf(
        Locale.ROOT,
        "bench reconcile: %,d members in each of %d buckets, %,d events, %d%% due to leave, "
            + "chunk %d, sweep instant %s%n",
        members,
        buckets.size(),
        events,
        leavePercent,
        chunk,
        NOW);
    ReconcileBench.describe().forEach(line -> out.println("  " + line));
    double loadBefore =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    stealFrom = CpuSteal.now();
    out.println("starting a throwaway embedded PostgreSQL...");
    out.flush();
    try (EmbeddedDatabase pg = EmbeddedDatabase.start(null, 0)) {
      String data = "bench_reconcile";
      String copy = "bench_reconcile_baseline";
      pg.ensureDatabase(data);
      String database;
      Duration generation;
      try (HikariDataSource ds = open(pg, data)) {
        Database.migrate(ds);
        DSLContext dsl = Database.dsl(ds);
        database = BenchCommand.Target.describeDatabase("embedded", dsl);
        generation = ReconcileBench.generate(dsl, members, events, leavePercent, NOW);
        Assembly.offline(dsl, buckets, Duration.ofSeconds(30), clock, chunk, parallelism)
            .catalog()
            .registerConfigs(dsl);
      }
      long copyStart = System.nanoTime();
      pg.copyDatabase(data, copy);
      out.printf(
          Locale.ROOT,
          "data generated in %.1f s (set-based SQL, then VACUUM ANALYZE); copied for the baseline in %.1f s%n",
          generation.toMillis() / 1000.0,
          (System.nanoTime() - copyStart) / 1e9);
      out.flush();

      List<ReconcileBench.Baseline> baselines = new ArrayList<>();
      try (HikariDataSource ds = open(pg, copy)) {
        AtomicLong statements = new AtomicLong();
        DSLContext dsl =
            Database.dsl(ds)
                .configuration()
                .deriveAppending(
                    ExecuteListener.onExecuteStart(ctx -> statements.incrementAndGet()))
                .dsl();
        Assembly.Offline parts =
            Assembly.offline(dsl, buckets, Duration.ofSeconds(30), clock, chunk, parallelism);
        out.println();
        out.println(
            "(b) per-member baseline: one transaction per member (lock contact, load its state, in-memory "
                + "Evaluator, leave if failing), on the copy");
        for (BucketDefinition bucket : buckets) {
          List<ReconcileBench.Member> picked = ReconcileBench.sample(dsl, bucket.id(), sample);
          ReconcileBench.warmUp(
              dsl, bucket, picked.subList(0, Math.min(warmup, picked.size())), parts.states(), NOW);
          ReconcileBench.Baseline b =
              ReconcileBench.perMember(
                  dsl, bucket, picked, parts.states(), parts.transitions(), NOW, statements::get);
          baselines.add(b);
          out.printf(
              Locale.ROOT,
              "  %-16s %,7d members sampled (every %s-th)  %,6d leave  %7.2f s  %,9.0f members/s  %.1f SQL/member%n",
              bucket.id(),
              b.evaluated(),
              String.format(Locale.ROOT, "%,d", Math.max(1, members / sample)),
              b.leaves().size(),
              seconds(b.wall()),
              b.rowsPerSecond(),
              (double) b.statements() / Math.max(1, b.evaluated()));
          out.flush();
        }
        // Untimed: a few chunks of each bucket's sweep on the copy (after its baseline), so the
        // timed
        // sweep's first chunks pay no JIT compilation; the copy's results are not used afterwards.
        for (BucketDefinition bucket : buckets) {
          parts
              .reconcile()
              .sweep(
                  bucket.id(),
                  dev.bucketflow.reconcile.SweepProgress.start(
                      bucket.id(), dev.bucketflow.reconcile.SweepCursor.start()),
                  new dev.bucketflow.reconcile.ReconcileService.Budget(5, Duration.ofMinutes(1)),
                  p -> {});
        }
        out.println(
            "  (then, untimed, 5 chunks of each bucket's sweep on the copy: JIT warm-up for (a))");
      }

      List<ReconcileBench.Sweep> sweeps = new ArrayList<>();
      List<List<String>> plans = new ArrayList<>();
      BenchCommand.SqlProfile profile = new BenchCommand.SqlProfile();
      try (HikariDataSource ds = open(pg, data)) {
        AtomicLong statements = new AtomicLong();
        LeaveExplainer explainer = new LeaveExplainer();
        DSLContext plain = Database.dsl(ds);
        DSLContext dsl =
            explain
                ? plain
                    .configuration()
                    .deriveAppending(
                        ExecuteListener.onExecuteStart(ctx -> statements.incrementAndGet()),
                        profile,
                        explainer)
                    .dsl()
                : plain
                    .configuration()
                    .deriveAppending(
                        ExecuteListener.onExecuteStart(ctx -> statements.incrementAndGet()))
                    .dsl();
        Assembly.Offline parts =
            Assembly.offline(dsl, buckets, Duration.ofSeconds(30), clock, chunk, parallelism);
        out.println();
        out.printf(
            Locale.ROOT,
            "(a) set-based sweep: ReconcileService from Assembly, chunk %d, %d at once, parts of the "
                + "activity's default budget, on the original%s%n",
            chunk,
            parallelism,
            explain ? " (EXPLAIN time excluded)" : "");
        for (BucketDefinition bucket : buckets) {
          long active = ReconcileBench.activeMembers(dsl, bucket.id());
          explainer.arm(
              Math.max(1, (int) Math.min(Integer.MAX_VALUE, (active + chunk - 1) / chunk / 2)));
          ReconcileBench.Sweep s =
              ReconcileBench.sweep(
                  dsl, parts.reconcile(), bucket.id(), statements::get, explainer::nanos);
          sweeps.add(s);
          plans.add(explainer.plan());
          out.printf(
              Locale.ROOT,
              "  %-16s %,7d members  %,6d left  %,5d SQL statements  %7.2f s  %,9.0f members/s  %d part%s%n",
              bucket.id(),
              s.members(),
              s.counts().clockLeaves(),
              s.statements(),
              seconds(s.wall()),
              s.rowsPerSecond(),
              s.parts(),
              s.parts() == 1 ? "" : "s");
          out.flush();
        }
      }

      out.println();
      boolean agreed = true;
      for (int i = 0; i < buckets.size(); i++) {
        ReconcileBench.Baseline b = baselines.get(i);
        ReconcileBench.Sweep s = sweeps.get(i);
        Set<String> sweptInSample = new HashSet<>(s.left());
        sweptInSample.retainAll(b.sampled());
        boolean same = sweptInSample.equals(b.leaves());
        agreed &= same;
        out.println(
            same
                ? fmt(
                    "check %s: on the %,d sampled members the sweep left exactly the %,d the per-member evaluator left",
                    b.bucketId(), b.evaluated(), b.leaves().size())
                : fmt(
                    "check %s: MISMATCH on the %,d sampled members: the sweep left %,d, the per-member evaluator %,d",
                    b.bucketId(), b.evaluated(), sweptInSample.size(), b.leaves().size()));
      }

      if (explain) {
        for (int i = 0; i < buckets.size(); i++) {
          out.println();
          out.println(
              "-- EXPLAIN (ANALYZE, BUFFERS), "
                  + buckets.get(i).id()
                  + ", leave statement of the middle chunk:");
          plans.get(i).forEach(out::println);
        }
        out.println();
        out.println("sweep statements by total time (both buckets):");
        profile.print(out, 10);
      }

      out.println();
      boolean extrapolated = sample < members;
      out.println(
          "results"
              + (extrapolated
                  ? fmt(
                      " (per-member: measured on %,d sampled members per bucket, EXTRAPOLATED to %,d; not run whole):",
                      sample, members)
                  : " (per-member: run on every member):"));
      TextTable table =
          new TextTable(
                  "bucket",
                  "members",
                  "sweep s",
                  "sweep members/s",
                  "per-member members/s",
                  extrapolated ? "per-member s (extrapolated)" : "per-member s",
                  "ratio")
              .alignRight(1, 2, 3, 4, 5, 6);
      double sweepMembers = 0;
      double sweepSeconds = 0;
      double baseMembers = 0;
      double baseSeconds = 0;
      for (int i = 0; i < buckets.size(); i++) {
        ReconcileBench.Baseline b = baselines.get(i);
        ReconcileBench.Sweep s = sweeps.get(i);
        sweepMembers += s.members();
        sweepSeconds += seconds(s.wall());
        baseMembers += b.evaluated();
        baseSeconds += seconds(b.wall());
        table.row(
            s.bucketId(),
            fmt("%,d", s.members()),
            fmt("%.2f", seconds(s.wall())),
            fmt("%,.0f", s.rowsPerSecond()),
            fmt("%,.0f", b.rowsPerSecond()),
            fmt("%,.1f", s.members() / b.rowsPerSecond()),
            fmt("%.1fx", s.rowsPerSecond() / b.rowsPerSecond()));
      }
      table.print(out);
      double sweepRate = sweepMembers / Math.max(sweepSeconds, 1e-9);
      double baseRate = baseMembers / Math.max(baseSeconds, 1e-9);
      double ratio = sweepRate / baseRate;
      out.println(
          fmt(
              "sweep wall time for %,d members: %s",
              members,
              String.join(
                  ", ",
                  sweeps.stream()
                      .map(s -> fmt("%s %.2f s", s.bucketId(), seconds(s.wall())))
                      .toList())));
      out.println(
          fmt(
              "rows/s: set-based %,.0f members/s, per-member %,.0f members/s (both buckets)",
              sweepRate, baseRate));
      out.println(
          "machine: "
              + Runtime.getRuntime().availableProcessors()
              + " cores, Java "
              + System.getProperty("java.version")
              + "; "
              + database
              + fmt(
                  "; load average %.1f at start, %.1f at end",
                  loadBefore,
                  java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                      .getSystemLoadAverage())
              + "; "
              + CpuSteal.since(stealFrom));
      out.println(fmt("set-based vs per-member: %.1fx", ratio));
      return new Report(baselines, sweeps, ratio, agreed);
    }
  }

  private HikariDataSource open(EmbeddedDatabase pg, String database) {
    return CliDatabase.open(pg.jdbcUrl(database), "postgres", "", Math.max(4, parallelism + 1));
  }

  private static double seconds(Duration d) {
    return d.toNanos() / 1e9;
  }

  private static String fmt(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }

  /**
   * Runs {@code EXPLAIN (ANALYZE, BUFFERS)} of the {@code n}-th leave statement (the
   * compare-and-swap {@code UPDATE bucket_memberships}) the sweep sends, just before it runs: the
   * SQL jOOQ rendered, bind values inlined, on the same connection and in the same transaction
   * (after the chunk's contact locks, so it sees what the statement sees), inside a savepoint
   * rolled back afterwards. Its time is counted apart, for the caller to subtract.
   */
  static final class LeaveExplainer implements ExecuteListener {
    private static final Pattern LEAVE =
        Pattern.compile(
            "^\\s*update\\s+(\"public\"\\.)?\"bucket_memberships\"\\s+set\\s+\"status\"",
            Pattern.CASE_INSENSITIVE);
    private int target;
    private int seen;
    private final List<String> plan = new ArrayList<>();
    private long nanos;

    synchronized void arm(int ordinal) {
      target = ordinal;
      seen = 0;
      plan.clear();
    }

    synchronized long nanos() {
      return nanos;
    }

    synchronized List<String> plan() {
      return List.copyOf(plan);
    }

    @Override
    public synchronized void executeStart(ExecuteContext ctx) {
      String sql = ctx.sql();
      if (target == 0
          || sql == null
          || ctx.query() == null
          || !LEAVE.matcher(sql).find()
          || ++seen != target) return;
      long start = System.nanoTime();
      String inlined = ctx.dsl().renderInlined(ctx.query());
      plan.add("-- " + abbreviate(inlined));
      try (Statement s = ctx.connection().createStatement()) {
        s.execute("SAVEPOINT bench_explain");
        try (ResultSet rs = s.executeQuery("EXPLAIN (ANALYZE, BUFFERS) " + inlined)) {
          while (rs.next()) plan.add(abbreviate(rs.getString(1)));
        }
        s.execute("ROLLBACK TO SAVEPOINT bench_explain");
      } catch (java.sql.SQLException e) {
        plan.add("(EXPLAIN failed: " + e.getMessage() + ")");
      }
      nanos += System.nanoTime() - start;
    }

    /**
     * The statement (or plan line) with its long IN lists and array literals (a chunk's ids and
     * users) cut to their first values. A hand scan, not a regex: a backtracking pattern over a
     * thousand list items overflows the stack.
     */
    static String abbreviate(String sql) {
      StringBuilder out = new StringBuilder(Math.min(sql.length(), 4096));
      int i = 0;
      while (i < sql.length()) {
        char ch = sql.charAt(i);
        if (ch == '(') {
          List<int[]> items = new ArrayList<>();
          int j = i + 1;
          while (j < sql.length()) {
            int itemEnd = literalEnd(sql, j);
            if (itemEnd < 0) break;
            items.add(new int[] {j, itemEnd});
            if (itemEnd < sql.length() && sql.charAt(itemEnd) == ')') {
              j = itemEnd;
              break;
            }
            if (!sql.startsWith(", ", itemEnd)) break;
            j = itemEnd + 2;
          }
          if (items.size() > 3 && j < sql.length() && sql.charAt(j) == ')') {
            out.append('(')
                .append(sql, items.get(0)[0], items.get(0)[1])
                .append(", ")
                .append(sql, items.get(1)[0], items.get(1)[1])
                .append(", ... ")
                .append(items.size() - 2)
                .append(" more)");
            i = j + 1;
            continue;
          }
        }
        if (ch == '{') {
          int close = sql.indexOf('}', i);
          int nested = sql.indexOf('{', i + 1);
          if (close > 0 && (nested < 0 || nested > close)) {
            String[] items = sql.substring(i + 1, close).split(",", -1);
            if (items.length > 3) {
              out.append('{')
                  .append(items[0])
                  .append(',')
                  .append(items[1])
                  .append(",... ")
                  .append(items.length - 2)
                  .append(" more}");
              i = close + 1;
              continue;
            }
          }
        }
        out.append(ch);
        i++;
      }
      return out.toString();
    }

    /** The end of a number or quoted-string literal starting at {@code at}, or -1. */
    private static int literalEnd(String sql, int at) {
      if (at >= sql.length()) return -1;
      if (sql.charAt(at) == '\'') {
        int k = at + 1;
        while (k < sql.length()) {
          if (sql.charAt(k) == '\'') {
            if (k + 1 < sql.length() && sql.charAt(k + 1) == '\'') {
              k += 2;
              continue;
            }
            return k + 1;
          }
          k++;
        }
        return -1;
      }
      int k = at;
      while (k < sql.length() && Character.isDigit(sql.charAt(k))) k++;
      return k > at ? k : -1;
    }
  }
}
