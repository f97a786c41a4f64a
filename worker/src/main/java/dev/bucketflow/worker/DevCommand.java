package dev.bucketflow.worker;

import dev.bucketflow.db.EmbeddedDatabase;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.testserver.TestServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Everything in one process on embedded defaults: PostgreSQL (data kept under the data dir),
 * Temporal's Java test server on a real port in real time, the worker and the admin API.
 */
@Command(
    name = "dev",
    mixinStandardHelpOptions = true,
    description =
        "Run Bucketflow locally: embedded PostgreSQL, Temporal's Java test server, the worker and the admin API.")
final class DevCommand implements Callable<Integer> {

  static final String DATABASE = "bucketflow";

  @Mixin QueueOptions queue;
  @Mixin ContentOptions content;
  @Mixin IngestOptions ingest;

  @Option(
      names = "--data-dir",
      defaultValue = "${env:BUCKETFLOW_DATA_DIR:-.bucketflow}",
      description =
          "Where the embedded PostgreSQL keeps its data (env BUCKETFLOW_DATA_DIR, default ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(
      names = "--temporal-port",
      defaultValue = "${env:BUCKETFLOW_TEMPORAL_PORT:-7233}",
      description =
          "Port of the Temporal test server (env BUCKETFLOW_TEMPORAL_PORT, default ${DEFAULT-VALUE}).")
  int temporalPort;

  @Option(
      names = "--pg-port",
      defaultValue = "${env:BUCKETFLOW_PG_PORT:-54329}",
      description =
          "Port of the embedded PostgreSQL (env BUCKETFLOW_PG_PORT, default ${DEFAULT-VALUE}).")
  int pgPort;

  @Option(
      names = "--admin-port",
      defaultValue = "${env:BUCKETFLOW_ADMIN_PORT:-8088}",
      description = "Admin HTTP port (env BUCKETFLOW_ADMIN_PORT, default ${DEFAULT-VALUE}).")
  int adminPort;

  @Override
  public Integer call() throws Exception {
    Processes processes = new Processes();
    try {
      EmbeddedDatabase pg =
          processes.add(EmbeddedDatabase.start(dataDir.resolve("postgres"), pgPort));
      pg.ensureDatabase(DATABASE);
      // lockTimeSkipping=true: real time, as a production server behaves.
      TestServer.PortBoundTestServer server = TestServer.createPortBoundServer(temporalPort, true);
      processes.add(server::close);
      // Else it slows down with every workflow task it ever ran, and serves the newest task first.
      TestServerFixes.apply(server);
      String address = "127.0.0.1:" + temporalPort;
      dev.bucketflow.admin.AdminMetrics metrics = new dev.bucketflow.admin.AdminMetrics();
      WorkflowServiceStubs service = Temporal.connect(address, metrics.temporalScope());
      processes.add(service::shutdown);

      WorkerConfig config =
          new WorkerConfig(
                  address,
                  "default",
                  queue.taskQueue,
                  queue.shards,
                  pg.jdbcUrl(DATABASE),
                  "postgres",
                  "",
                  10,
                  content.buckets,
                  content.journeys,
                  content.enabledBuckets,
                  adminPort,
                  ingest.settings(),
                  java.time.Duration.ofSeconds(content.enabledSwitchTtlSeconds),
                  content.reconcileCron,
                  content.reconcileChunk,
                  ingest.futureSkew(),
                  // This worker lives and dies with its server, so its sticky queue can never
                  // strand a workflow: keep sticky execution (no full replay per task). Other
                  // workers attached to dev run `worker --sticky-timeout 0` (auto detects the Java
                  // test server too).
                  StickyTimeout.SDK_DEFAULT)
              .withReconcileParallelism(content.reconcileParallelism);
      Processes.printConfig(config);
      BucketflowWorker worker =
          processes.add(
              BucketflowWorker.start(config, service, metrics::meter, metrics.ingestLatencies()));
      // Loopback only: dev is a single-user sandbox; its reads are open.
      processes.add(Processes.admin("127.0.0.1", adminPort, worker, config, metrics));

      System.out.println();
      System.out.println("Bucketflow dev is running.");
      System.out.println(
          "  Temporal  "
              + address
              + "  (Java test server: in memory, forgotten on restart, no Web UI)");
      System.out.println(
          "  Postgres  "
              + dev.bucketflow.db.Secrets.redact(config.jdbcUrl())
              + "  (user postgres, no password; data in "
              + dataDir.resolve("postgres")
              + ")");
      System.out.println(
          "  Admin     http://127.0.0.1:"
              + adminPort
              + "/  (dashboard; API under /api, /metrics, /health; mutations "
              + (Processes.adminToken() == null
                  ? "off: set BUCKETFLOW_ADMIN_TOKEN"
                  : "need the BUCKETFLOW_ADMIN_TOKEN bearer token")
              + ")");
      System.out.println("Ctrl-C to stop.");
    } catch (Exception e) {
      processes.closeAll();
      throw e;
    }
    processes.awaitShutdown();
    return 0;
  }
}
