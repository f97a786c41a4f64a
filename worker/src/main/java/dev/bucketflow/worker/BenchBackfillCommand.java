package dev.bucketflow.worker;

import com.zaxxer.hikari.HikariDataSource;
import dev.bucketflow.backfill.BackfillBench;
import dev.bucketflow.db.Database;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code bench backfill}: generates contacts and events set-based in a throwaway embedded
 * PostgreSQL, then times a first-time backfill of a count bucket and of a composite bucket.
 */
@Command(
    name = "backfill",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description =
        "Time a first-time backfill (count bucket and composite bucket) over generated data.")
final class BenchBackfillCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = "--contacts",
      defaultValue = "1000000",
      description = "Contacts to generate (default ${DEFAULT-VALUE}).")
  int contacts;

  @Option(
      names = "--events",
      defaultValue = "10000000",
      description = "Events to generate (default ${DEFAULT-VALUE}).")
  int events;

  @Option(
      names = "--chunk",
      defaultValue = "5000",
      description = "Contacts per backfill chunk (default ${DEFAULT-VALUE}).")
  int chunk;

  @Option(names = "--explain", description = "Print EXPLAIN ANALYZE of the per-chunk queries.")
  boolean explain;

  @Override
  public Integer call() throws Exception {
    CliDatabase.quietLibraries();
    PrintWriter out = spec.commandLine().getOut();
    try (BenchCommand.Target target = BenchCommand.Target.embedded(out);
        HikariDataSource ds = target.fresh("backfill")) {
      var dsl = Database.dsl(ds);
      out.printf(
          "generating %,d contacts and %,d events on %s...%n",
          contacts, events, target.describe(dsl));
      out.flush();
      BackfillBench.Result result =
          BackfillBench.run(
              dsl,
              contacts,
              events,
              chunk,
              (db, buckets, chunkSize) -> {
                Assembly.Offline parts =
                    Assembly.offline(
                        db,
                        buckets,
                        java.time.Duration.ofSeconds(30),
                        java.time.Clock.systemUTC(),
                        chunkSize);
                parts.catalog().registerConfigs(db);
                return parts.backfill();
              });
      out.print(result.summary());
      if (explain) {
        for (BackfillBench.BucketRun run : result.buckets()) {
          out.println("-- " + run.bucketId() + " " + run.kind());
          run.explain().forEach(out::println);
        }
      }
      out.printf("machine: %d cores%n", Runtime.getRuntime().availableProcessors());
      return 0;
    }
  }
}
