package dev.bucketflow.worker;

import io.temporal.serviceclient.WorkflowServiceStubs;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Production mode: an existing Temporal cluster and PostgreSQL. */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description =
        "Run a worker against an existing Temporal cluster and PostgreSQL (runs migrations on start).")
final class WorkerCommand implements Callable<Integer> {

  @Mixin TemporalOptions temporal;
  @Mixin QueueOptions queue;
  @Mixin DatabaseOptions database;
  @Mixin ContentOptions content;
  @Mixin IngestOptions ingest;
  @Mixin StickyTimeout.Options sticky;

  @Option(
      names = "--admin-port",
      defaultValue = "${env:BUCKETFLOW_ADMIN_PORT:-8088}",
      description =
          "Admin HTTP port, 0 to disable (env BUCKETFLOW_ADMIN_PORT, default ${DEFAULT-VALUE}).")
  int adminPort;

  @Option(
      names = "--admin-host",
      defaultValue = "${env:BUCKETFLOW_ADMIN_HOST:-0.0.0.0}",
      description =
          "Admin HTTP bind address (env BUCKETFLOW_ADMIN_HOST, default ${DEFAULT-VALUE}).")
  String adminHost;

  @Override
  public Integer call() throws Exception {
    WorkerConfig config =
        WorkerConfig.of(temporal, queue, database, content, ingest, adminPort, sticky.timeout());
    Processes.printConfig(config);
    dev.bucketflow.admin.AdminMetrics metrics = new dev.bucketflow.admin.AdminMetrics();
    WorkflowServiceStubs service =
        Temporal.connect(config.temporalAddress(), metrics.temporalScope());
    Processes processes = new Processes();
    processes.add(service::shutdown);
    BucketflowWorker worker =
        processes.add(
            BucketflowWorker.start(config, service, metrics::meter, metrics.ingestLatencies()));
    if (adminPort > 0)
      processes.add(Processes.admin(adminHost, adminPort, worker, config, metrics));
    System.out.println("Bucketflow worker running. Ctrl-C to stop.");
    processes.awaitShutdown();
    return 0;
  }
}
