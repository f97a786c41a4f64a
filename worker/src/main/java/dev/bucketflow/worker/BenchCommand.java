package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;

import com.zaxxer.hikari.HikariDataSource;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.db.Database;
import dev.bucketflow.db.EmbeddedDatabase;
import dev.bucketflow.db.Secrets;
import dev.bucketflow.ingest.IngestBatch;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.ingest.PendingEvent;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.Transition;
import dev.bucketflow.schema.Public;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.jooq.DSLContext;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.impl.DSL;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code bucketflow bench ...}: reproducible measurements. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Reproducible benchmarks.",
    subcommands = {
      BenchCommand.Ingest.class,
      BenchBackfillCommand.class,
      BenchE2eCommand.class,
      BenchReconcileCommand.class
    })
final class BenchCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(
        spec.commandLine(), "Missing subcommand: ingest, backfill, e2e or reconcile");
  }

  /**
   * Measures the ingest path with real-time membership, in one run, against fresh databases: (a0)
   * batched ingest with no buckets, (a) batched ingest with the synthetic buckets, and (b) the
   * baseline, one event per transaction through the same {@link IngestService}, so every event pays
   * its own history (count) queries, locks and commit. The baseline is slow, so it runs on a prefix
   * of the same stream and reports its rate. A fixed clock and seed make runs reproducible; where
   * the prefix is a whole number of batches, the transitions of (a) and (b) on that prefix are
   * compared (they must be identical: DESIGN §7 "Exactness").
   */
  @Command(
      name = "ingest",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description = {
        "Events/second of batched ingest with real-time membership (a), against a one-event-per-transaction baseline (b) and ingest without buckets (a0), in one run.",
        "Without --db-url it starts a throwaway embedded PostgreSQL and uses a fresh database per phase."
      })
  static final class Ingest implements Callable<Integer> {

    /** The instant every phase evaluates at; events occur over the 60 days before it. */
    static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");

    @Spec CommandSpec spec;

    @Option(
        names = "--users",
        defaultValue = "100000",
        description = "Distinct users (default ${DEFAULT-VALUE}).")
    int users;

    @Option(
        names = "--events",
        defaultValue = "200000",
        description = "Events in the batched phases (default ${DEFAULT-VALUE}).")
    int events;

    @Option(
        names = "--buckets",
        defaultValue = "20",
        description = "Synthetic buckets (default ${DEFAULT-VALUE}).")
    int buckets;

    @Option(
        names = "--batch-size",
        defaultValue = "500",
        description = "Events per ingest transaction in (a0) and (a) (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(
        names = "--baseline-events",
        defaultValue = "5000",
        description =
            "Events of the stream's prefix the one-per-transaction baseline (b) runs on; 0 skips it (default ${DEFAULT-VALUE}).")
    int baselineEvents;

    @Option(
        names = "--warmup-events",
        defaultValue = "10000",
        description =
            "Untimed warm-up first, on another seed's stream: this many events batched, and a tenth of them "
                + "(at most 1,000) one per transaction, so neither measured path pays for JIT compilation (default ${DEFAULT-VALUE}).")
    int warmupEvents;

    @Option(
        names = "--seed",
        defaultValue = "42",
        description = "Seed of the synthetic buckets and events (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
        names = "--db-url",
        description =
            "Benchmark this PostgreSQL instead of a throwaway embedded one. It is migrated and EVERY Bucketflow "
                + "table is truncated between phases, so it must start empty (or pass --wipe).")
    String dbUrl;

    @Option(
        names = "--db-user",
        defaultValue = "postgres",
        description = "User for --db-url (default ${DEFAULT-VALUE}).")
    String dbUser;

    @Option(names = "--db-password", defaultValue = "", description = "Password for --db-url.")
    String dbPassword;

    @Option(
        names = "--sql-profile",
        description =
            "Also print, per phase, the statements that took the most time (count, total ms, SQL prefix).")
    boolean sqlProfile;

    @Option(
        names = "--wipe",
        description =
            "Allow --db-url to point at a database that holds Bucketflow data (it is truncated).")
    boolean wipe;

    private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    private PrintWriter out;
    private String databaseNote = "";
    private boolean durableCommits;

    /**
     * The events and apply time of a stretch of a phase (its first or last {@link #WINDOW} events).
     */
    record Window(int events, double seconds) {
      double rate() {
        return seconds <= 0 ? 0 : events / seconds;
      }
    }

    /** The measure of a falling rate: the last 20,000 events against the first 20,000. */
    static final int WINDOW = 20_000;

    /** What one phase measured. */
    record Phase(
        String key,
        String label,
        int events,
        double applySeconds,
        long stored,
        long rejected,
        long transitions,
        long entered,
        long left,
        long active,
        int prefixEvents,
        double prefixSeconds,
        List<Transition> prefix,
        long statements,
        Window first,
        Window last) {
      double rate() {
        return applySeconds <= 0 ? 0 : events / applySeconds;
      }

      /** Rate over the whole batches that fit in the baseline's prefix. */
      double prefixRate() {
        return prefixSeconds <= 0 ? 0 : prefixEvents / prefixSeconds;
      }
    }

    @Override
    public Integer call() {
      check();
      out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      CliDatabase.quietLibraries();
      int baseline = Math.min(baselineEvents, events);
      List<BucketDefinition> defs = BenchWorkload.buckets(buckets, seed);
      long wallStart = System.nanoTime();
      runSteal = CpuSteal.now();
      out.printf(
          Locale.ROOT,
          "bench ingest: %,d users, %,d events, %d buckets, batch size %d, baseline on the first %,d events, seed %d%n",
          users,
          events,
          buckets,
          batchSize,
          baseline,
          seed);
      out.println(
          "buckets: " + defs.stream().map(BucketDefinition::id).collect(Collectors.joining(", ")));
      out.flush();
      try (Target target =
          dbUrl == null ? Target.embedded(out) : Target.external(dbUrl, dbUser, dbPassword, wipe)) {
        if (warmupEvents > 0) {
          int warm = Math.min(warmupEvents, events);
          Phase w1 =
              run(
                  target,
                  "warm1",
                  "(w)  warm-up, batched, untimed",
                  defs,
                  warm,
                  batchSize,
                  0,
                  seed + 1,
                  true);
          Phase w2 =
              run(
                  target,
                  "warm2",
                  "(w)  warm-up, one per transaction, untimed",
                  defs,
                  Math.min(1_000, Math.max(1, warm / 10)),
                  1,
                  0,
                  seed + 1,
                  true);
          out.printf(
              Locale.ROOT,
              "warm-up done: %,d events batched, %,d one per transaction%n",
              w1.events(),
              w2.events());
        }
        List<Phase> phases = new ArrayList<>();
        phases.add(
            run(
                target,
                "a0",
                "(a0) batched x" + batchSize + ", no buckets",
                List.of(),
                events,
                batchSize,
                0,
                seed,
                false));
        Phase a =
            run(
                target,
                "a",
                "(a)  batched x" + batchSize + ", " + buckets + " buckets",
                defs,
                events,
                batchSize,
                baseline,
                seed,
                false);
        phases.add(a);
        Phase b = null;
        if (baseline > 0) {
          b =
              run(
                  target,
                  "b",
                  "(b)  1 event/transaction, " + buckets + " buckets",
                  defs,
                  baseline,
                  1,
                  baseline,
                  seed,
                  false);
          phases.add(b);
        }
        report(phases, a, b, machine(), (System.nanoTime() - wallStart) / 1e9);
        return 0;
      } catch (CliDatabase.Failure e) {
        err.println("error: " + Secrets.redact(e.getMessage(), dbPassword));
        return 1;
      } catch (Exception e) {
        err.println(
            "error: bench ingest failed: "
                + Secrets.redact(CliDatabase.rootMessage(e), dbPassword));
        // Driver messages deep in the trace may quote the URL, so the trace is masked too.
        java.io.StringWriter trace = new java.io.StringWriter();
        e.printStackTrace(new PrintWriter(trace));
        err.print(Secrets.redact(trace.toString(), dbPassword));
        return 1;
      } finally {
        out.flush();
        err.flush();
      }
    }

    private void check() {
      if (users < 1) throw new ParameterException(spec.commandLine(), "--users must be at least 1");
      if (events < 1)
        throw new ParameterException(spec.commandLine(), "--events must be at least 1");
      if (buckets < 0)
        throw new ParameterException(spec.commandLine(), "--buckets must not be negative");
      if (batchSize < 1)
        throw new ParameterException(spec.commandLine(), "--batch-size must be at least 1");
      if (baselineEvents < 0)
        throw new ParameterException(spec.commandLine(), "--baseline-events must not be negative");
      if (warmupEvents < 0)
        throw new ParameterException(spec.commandLine(), "--warmup-events must not be negative");
    }

    private Phase run(
        Target target,
        String key,
        String label,
        List<BucketDefinition> defs,
        int count,
        int size,
        int prefixEvents,
        long streamSeed,
        boolean quiet)
        throws Exception {
      if (!quiet) out.println();
      out.println(
          label.replaceAll(" +", " ")
              + ": "
              + String.format(Locale.ROOT, "%,d", count)
              + " events...");
      out.flush();
      try (HikariDataSource ds = target.fresh(key)) {
        DSLContext plain = Database.dsl(ds);
        if (databaseNote.isEmpty()) {
          databaseNote = target.describe(plain);
          durableCommits =
              "on".equals(plain.fetchValue("SHOW fsync"))
                  && !"off".equals(plain.fetchValue("SHOW synchronous_commit"));
        }
        // Counts every SQL statement the ingest path sends: the cost model in one number.
        AtomicLong statements = new AtomicLong();
        SqlProfile profile = new SqlProfile();
        DSLContext dsl =
            plain
                .configuration()
                .deriveAppending(
                    sqlProfile
                        ? profile
                        : ExecuteListener.onExecuteStart(ctx -> statements.incrementAndGet()))
                .dsl();
        Assembly.Offline parts = Assembly.offline(dsl, defs, Duration.ofSeconds(5), clock, 1000);
        // The day partitions a worker would have made at start (outside the statement count).
        Assembly.eventStorage(plain, defs, clock).maintain();
        BucketCatalog catalog = parts.catalog();
        catalog.registerConfigs(dsl);
        IngestService service = parts.ingest();
        BenchWorkload.EventStream stream =
            new BenchWorkload.EventStream(
                streamSeed,
                users,
                events,
                NOW.minus(Duration.ofDays(60)),
                NOW.minus(Duration.ofMinutes(1)));
        long receivedAt = clock.millis();
        long applyNanos = 0;
        long stored = 0;
        long rejected = 0;
        long transitions = 0;
        int done = 0;
        int seq = 0;
        List<Transition> prefix = new ArrayList<>();
        int prefixDone = 0;
        long prefixNanos = 0;
        long lastReport = System.nanoTime();
        int nextDecile = 1;
        int reportedDone = 0;
        long reportedNanos = 0;
        java.util.Optional<CpuSteal> phaseSteal = CpuSteal.now();
        // The first and the last stretch of the phase (whole batches): their rates, and with
        // --sql-profile their statements, show what gets dearer as the database grows.
        // The last stretch starts at the batch that reaches into the last `window` events, so it
        // holds at least that many; the first ends at the batch that completes them.
        int window = Math.max(1, Math.min(WINDOW, count / 2));
        Window first = null;
        long lastFromNanos = -1;
        int lastFromDone = 0;
        Map<String, long[]> atFirstEnd = Map.of();
        Map<String, long[]> atLastStart = Map.of();
        while (done < count) {
          int n = Math.min(size, count - done);
          if (lastFromNanos < 0 && done + n > count - window) {
            lastFromNanos = applyNanos;
            lastFromDone = done;
            atLastStart = profile.snapshot();
          }
          List<PendingEvent> batch = new ArrayList<>(n);
          for (int i = 0; i < n; i++) batch.add(new PendingEvent(stream.next(), receivedAt));
          IngestBatch ingest = new IngestBatch("bench-" + key + "-" + (seq++), 0, batch);
          long t0 = System.nanoTime();
          IngestService.Applied applied = service.applyWithTransitions(ingest);
          long spent = System.nanoTime() - t0;
          applyNanos += spent;
          done += n;
          stored += applied.outcome().stored();
          rejected += applied.outcome().rejected();
          transitions += applied.transitions().size();
          if (first == null && done >= window) {
            first = new Window(done, applyNanos / 1e9);
            atFirstEnd = profile.snapshot();
          }
          if (done <= prefixEvents) {
            prefix.addAll(applied.transitions());
            prefixDone = done;
            prefixNanos += spent;
          }
          long now = System.nanoTime();
          if (!quiet
              && (done == count
                  || done >= (long) count * nextDecile / 10
                  || now - lastReport > 15_000_000_000L)) {
            while (nextDecile <= 10 && done >= (long) count * nextDecile / 10) nextDecile++;
            lastReport = now;
            // The rate since the previous line too: whether it falls as the database grows.
            out.printf(
                Locale.ROOT,
                "  %,9d / %,d events  %,8.0f events/s  %,d transitions  (last %,d: %,.0f events/s)%n",
                done,
                count,
                done / (applyNanos / 1e9),
                transitions,
                done - reportedDone,
                (done - reportedDone) / ((applyNanos - reportedNanos) / 1e9));
            reportedDone = done;
            reportedNanos = applyNanos;
            out.flush();
          }
        }
        // Per phase: the ratio of two phases means little if the hypervisor took more from one.
        if (!quiet) out.println("  " + CpuSteal.since(phaseSteal));
        long sent = sqlProfile ? profile.statements() : statements.get();
        if (sqlProfile && !quiet) {
          profile.print(out, 12);
          if (first != null) {
            out.printf(
                Locale.ROOT,
                "  the first %,d events against the last %,d (ms per 1,000 events):%n",
                first.events(),
                count - lastFromDone);
            SqlProfile.printChange(
                out,
                atFirstEnd,
                first.events(),
                SqlProfile.minus(profile.snapshot(), atLastStart),
                count - lastFromDone,
                10);
          }
        }
        // Both stretches are set: window <= count, and the last batch always reaches into the last
        // window.
        Window last = new Window(count - lastFromDone, (applyNanos - lastFromNanos) / 1e9);
        var t = BUCKET_TRANSITIONS;
        var counts =
            dsl.select(
                    DSL.count().filterWhere(t.KIND.eq(TransitionKind.ENTERED)),
                    DSL.count().filterWhere(t.KIND.eq(TransitionKind.LEFT)))
                .from(t)
                .fetchOne();
        long active =
            dsl.fetchCount(
                BUCKET_MEMBERSHIPS, BUCKET_MEMBERSHIPS.STATUS.eq(MembershipStatus.ACTIVE));
        return new Phase(
            key,
            label,
            count,
            applyNanos / 1e9,
            stored,
            rejected,
            transitions,
            counts.value1(),
            counts.value2(),
            active,
            prefixDone,
            prefixNanos / 1e9,
            prefix,
            sent,
            first == null ? last : first,
            last);
      }
    }

    private void report(List<Phase> phases, Phase a, Phase b, String machine, double wallSeconds) {
      out.println();
      out.println("results (time spent inside IngestService.apply; event generation excluded):");
      TextTable table =
          new TextTable(
                  "phase",
                  "events",
                  "seconds",
                  "events/s",
                  "transitions",
                  "entered",
                  "left",
                  "active",
                  "SQL/event")
              .alignRight(1, 2, 3, 4, 5, 6, 7, 8);
      for (Phase p : phases) {
        table.row(
            p.label(),
            fmt("%,d", p.events()),
            fmt("%.1f", p.applySeconds()),
            fmt("%,.0f", p.rate()),
            fmt("%,d", p.transitions()),
            fmt("%,d", p.entered()),
            fmt("%,d", p.left()),
            fmt("%,d", p.active()),
            fmt("%.2f", (double) p.statements() / p.events()));
      }
      table.print(out);
      if (b != null && b.rate() > 0) {
        out.println(
            fmt("ratio (a)/(b): %.1fx", a.rate() / b.rate())
                + "   (batched path over the whole run vs one event per transaction on the prefix)");
        if (a.prefixRate() > 0) {
          out.println(
              fmt(
                  "same prefix: (a) ran its first %,d events at %,.0f events/s, %.1fx (b) on the same events",
                  a.prefixEvents(), a.prefixRate(), a.prefixRate() / b.rate()));
        }
        out.println(
            fmt(
                "transitions per event: (a) %.3f, (b) %.3f",
                (double) a.transitions() / a.events(), (double) b.transitions() / b.events()));
      }
      Phase a0 = phases.get(0);
      if (a0.rate() > 0 && buckets > 0) {
        out.println(
            fmt(
                "membership cost: (a) runs at %.0f%% of the rate of ingest alone (a0)",
                100 * a.rate() / a0.rate()));
      }
      for (Phase p : List.of(a0, a)) {
        if (p.first().rate() > 0) {
          out.println(
              fmt(
                  "rate as the database grows: %s last %,d events at %,.0f events/s, %.0f%% of its first %,d (%,.0f events/s)",
                  p.key(),
                  p.last().events(),
                  p.last().rate(),
                  100 * p.last().rate() / p.first().rate(),
                  p.first().events(),
                  p.first().rate()));
        }
      }
      if (b != null) out.println(exactness(a, b));
      long rejected = phases.stream().mapToLong(Phase::rejected).sum();
      if (rejected > 0) out.println("warning: " + rejected + " synthetic events were rejected");
      out.println("machine: " + machine);
      out.println(
          "notes: (b) runs on the first "
              + fmt("%,d", b == null ? 0 : b.events())
              + " events into a fresh, small database, which favours the baseline; 'same prefix' compares like with like. "
              + (durableCommits
                  ? "Commits are durable here (fsync and synchronous_commit on)."
                  : "Commits here do not wait for a disk flush (synchronous_commit/fsync off, as the embedded database "
                      + "runs), which favours the baseline, as it commits once per event; point --db-url at a durable "
                      + "PostgreSQL to see the production gap."));
      out.println(fmt("wall time %.0f s", wallSeconds));
    }

    /**
     * Same prefix of the same stream under the same clock: (a) and (b) must record the same
     * transitions.
     */
    private String exactness(Phase a, Phase b) {
      if (b.events() % batchSize != 0 || b.events() > a.events()) {
        return "exactness: not compared (--baseline-events is not a multiple of --batch-size)";
      }
      List<String> batched = keys(a.prefix());
      List<String> single = keys(b.prefix());
      if (batched.equals(single)) {
        return fmt(
            "exactness: on the first %,d events, (a) and (b) recorded the same %,d transitions in the same order",
            b.events(), single.size());
      }
      batched.sort(Comparator.naturalOrder());
      single.sort(Comparator.naturalOrder());
      return batched.equals(single)
          ? fmt(
              "exactness: on the first %,d events, (a) and (b) recorded the same %,d transitions (in a different order)",
              b.events(), single.size())
          : fmt(
              "exactness: MISMATCH on the first %,d events: (a) recorded %,d transitions, (b) %,d",
              b.events(), batched.size(), single.size());
    }

    private static List<String> keys(List<Transition> transitions) {
      List<String> out = new ArrayList<>(transitions.size());
      for (Transition t : transitions)
        out.add(t.idempotencyKey() + (t.emitted() ? "" : ":suppressed"));
      return out;
    }

    private java.util.Optional<CpuSteal> runSteal = java.util.Optional.empty();

    private String machine() {
      Runtime rt = Runtime.getRuntime();
      String db = databaseNote;
      return rt.availableProcessors()
          + " cores, Java "
          + System.getProperty("java.version")
          + fmt(", max heap %.1f GB", rt.maxMemory() / 1e9)
          + ", "
          + System.getProperty("os.name")
          + " "
          + System.getProperty("os.arch")
          + "; "
          + db
          + "; "
          + CpuSteal.since(runSteal);
    }

    private static String fmt(String format, Object... args) {
      return String.format(Locale.ROOT, format, args);
    }
  }

  /**
   * Where phases run: a fresh database per phase (embedded), or one database truncated per phase.
   */
  abstract static class Target implements AutoCloseable {

    abstract HikariDataSource fresh(String phase) throws Exception;

    abstract String label();

    /** PostgreSQL version and the commit durability settings that shape the numbers. */
    String describe(DSLContext dsl) {
      return describeDatabase(label(), dsl);
    }

    static String describeDatabase(String label, DSLContext dsl) {
      return label
          + " PostgreSQL "
          + dsl.fetchValue("SHOW server_version")
          + " (synchronous_commit="
          + dsl.fetchValue("SHOW synchronous_commit")
          + ", fsync="
          + dsl.fetchValue("SHOW fsync")
          + ")";
    }

    static Target embedded(PrintWriter out) throws Exception {
      out.println("starting a throwaway embedded PostgreSQL...");
      out.flush();
      EmbeddedDatabase pg = EmbeddedDatabase.start(null, 0);
      return new Target() {
        @Override
        HikariDataSource fresh(String phase) throws Exception {
          String name = "bench_" + phase;
          pg.ensureDatabase(name);
          HikariDataSource ds = CliDatabase.open(pg.jdbcUrl(name), "postgres", "", 2);
          try {
            Database.migrate(ds);
            return ds;
          } catch (RuntimeException e) {
            ds.close();
            throw e;
          }
        }

        @Override
        String label() {
          return "embedded (port " + pg.port() + ")";
        }

        @Override
        public void close() throws Exception {
          pg.close();
        }
      };
    }

    static Target external(String url, String user, String password, boolean wipe) {
      return new Target() {
        private boolean checked;

        @Override
        HikariDataSource fresh(String phase) {
          HikariDataSource ds = CliDatabase.open(url, user, password, 2);
          try {
            Database.migrate(ds);
            DSLContext dsl = Database.dsl(ds);
            if (!checked && !wipe) {
              long rows =
                  dsl.fetchCount(USER_EVENTS)
                      + dsl.fetchCount(CONTACTS)
                      + dsl.fetchCount(BUCKET_CONFIGS)
                      + dsl.fetchCount(BUCKET_MEMBERSHIPS);
              if (rows > 0) {
                throw new CliDatabase.Failure(
                    "the database at "
                        + CliDatabase.redact(url)
                        + " holds Bucketflow data, and bench ingest truncates every Bucketflow table; "
                        + "point --db-url at a scratch database, or pass --wipe",
                    null);
              }
            }
            checked = true;
            String tables =
                Public.PUBLIC.getTables().stream()
                    .map(t -> DSL.name(t.getName()).toString())
                    .collect(Collectors.joining(", "));
            dsl.execute("TRUNCATE " + tables + " RESTART IDENTITY CASCADE");
            return ds;
          } catch (RuntimeException e) {
            ds.close();
            throw e;
          }
        }

        @Override
        String label() {
          return CliDatabase.redact(url);
        }

        @Override
        public void close() {}
      };
    }
  }

  /**
   * Per statement shape (its SQL text up to the first VALUES list, or 90 characters): count and
   * time.
   */
  static final class SqlProfile implements ExecuteListener {
    private final Map<String, long[]> byShape = new HashMap<>();
    private final ThreadLocal<Long> started = new ThreadLocal<>();

    @Override
    public void executeStart(ExecuteContext ctx) {
      started.set(System.nanoTime());
    }

    @Override
    public void executeEnd(ExecuteContext ctx) {
      Long t0 = started.get();
      if (t0 == null) return;
      String sql = ctx.sql() == null ? "?" : ctx.sql().replaceAll("\\s+", " ");
      int values = sql.indexOf(" values (");
      String shape = values > 0 ? sql.substring(0, values) + " values ..." : sql;
      if (shape.length() > 90) shape = shape.substring(0, 90) + "...";
      synchronized (byShape) {
        long[] acc = byShape.computeIfAbsent(shape, k -> new long[2]);
        acc[0]++;
        acc[1] += System.nanoTime() - t0;
      }
    }

    /** A copy of the counts and times so far, per statement shape. */
    Map<String, long[]> snapshot() {
      synchronized (byShape) {
        Map<String, long[]> copy = new HashMap<>();
        byShape.forEach((k, v) -> copy.put(k, v.clone()));
        return copy;
      }
    }

    static Map<String, long[]> minus(Map<String, long[]> later, Map<String, long[]> earlier) {
      Map<String, long[]> out = new HashMap<>();
      later.forEach(
          (k, v) -> {
            long[] e = earlier.getOrDefault(k, new long[2]);
            out.put(k, new long[] {v[0] - e[0], v[1] - e[1]});
          });
      return out;
    }

    /** Per statement shape, time per 1,000 events in two stretches, the largest growth first. */
    static void printChange(
        PrintWriter out,
        Map<String, long[]> first,
        int firstEvents,
        Map<String, long[]> last,
        int lastEvents,
        int top) {
      TextTable table =
          new TextTable("first ms", "last ms", "change", "statement").alignRight(0, 1, 2);
      java.util.Set<String> shapes = new java.util.HashSet<>(first.keySet());
      shapes.addAll(last.keySet());
      java.util.function.ToDoubleFunction<String> f =
          k -> first.getOrDefault(k, new long[2])[1] / 1e6 * 1000 / firstEvents;
      java.util.function.ToDoubleFunction<String> l =
          k -> last.getOrDefault(k, new long[2])[1] / 1e6 * 1000 / lastEvents;
      double[] totals = new double[2];
      shapes.forEach(
          k -> {
            totals[0] += f.applyAsDouble(k);
            totals[1] += l.applyAsDouble(k);
          });
      shapes.stream()
          .sorted(
              (x, y) ->
                  Double.compare(
                      l.applyAsDouble(y) - f.applyAsDouble(y),
                      l.applyAsDouble(x) - f.applyAsDouble(x)))
          .limit(top)
          .forEach(
              k ->
                  table.row(
                      String.format(Locale.ROOT, "%,.1f", f.applyAsDouble(k)),
                      String.format(Locale.ROOT, "%,.1f", l.applyAsDouble(k)),
                      String.format(Locale.ROOT, "%+,.1f", l.applyAsDouble(k) - f.applyAsDouble(k)),
                      k));
      table.row(
          String.format(Locale.ROOT, "%,.1f", totals[0]),
          String.format(Locale.ROOT, "%,.1f", totals[1]),
          String.format(Locale.ROOT, "%+,.1f", totals[1] - totals[0]),
          "(all statements)");
      table.print(out);
    }

    long statements() {
      synchronized (byShape) {
        return byShape.values().stream().mapToLong(a -> a[0]).sum();
      }
    }

    void print(PrintWriter out, int top) {
      TextTable table =
          new TextTable("count", "total ms", "ms each", "statement").alignRight(0, 1, 2);
      synchronized (byShape) {
        byShape.entrySet().stream()
            .sorted((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]))
            .limit(top)
            .forEach(
                e ->
                    table.row(
                        String.format(Locale.ROOT, "%,d", e.getValue()[0]),
                        String.format(Locale.ROOT, "%,.0f", e.getValue()[1] / 1e6),
                        String.format(Locale.ROOT, "%.3f", e.getValue()[1] / 1e6 / e.getValue()[0]),
                        e.getKey()));
      }
      table.print(out);
    }
  }
}
