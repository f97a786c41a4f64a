package dev.bucketflow.worker;

import dev.bucketflow.reconcile.BucketSweep;
import dev.bucketflow.reconcile.ReconcileReport;
import dev.bucketflow.reconcile.ReconcileRequest;
import dev.bucketflow.reconcile.ReconcileWorkflow;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs a reconcile sweep now, through a running worker, and prints per-bucket counts. */
@Command(
    name = "reconcile",
    mixinStandardHelpOptions = true,
    description = "Run the reconcile sweep now (needs a running worker) and print what it changed.")
final class ReconcileCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin TemporalOptions temporal;
  @Mixin QueueOptions queue;

  @Option(
      names = "--bucket",
      description = "Only this bucket (default: every enabled time-based bucket).")
  String bucket;

  @Option(
      names = "--reset-cron",
      description =
          "Terminate the running cron workflow so the next worker start registers the current schedule.")
  boolean resetCron;

  @Override
  public Integer call() {
    WorkflowServiceStubs service = Temporal.connect(temporal.address);
    try {
      WorkflowClient client = Temporal.client(service, temporal.namespace);
      if (resetCron) {
        client
            .newUntypedWorkflowStub(ReconcileWorkflow.CRON_ID)
            .terminate("schedule reset by bucketflow reconcile --reset-cron");
        spec.commandLine()
            .getOut()
            .println(
                "terminated "
                    + ReconcileWorkflow.CRON_ID
                    + "; restart a worker to register the current schedule");
        return 0;
      }
      ReconcileWorkflow run =
          client.newWorkflowStub(
              ReconcileWorkflow.class,
              WorkflowOptions.newBuilder()
                  .setWorkflowId("bucketflow-reconcile-now-" + UUID.randomUUID())
                  .setTaskQueue(queue.taskQueue)
                  .build());
      ReconcileReport report = run.run(new ReconcileRequest(bucket));
      var out = spec.commandLine().getOut();
      out.printf(
          "%-28s %8s %8s %8s %8s %8s  %s%n",
          "bucket", "left", "maxDwell", "deferred", "joined", "rearmed", "note");
      for (BucketSweep s : report.buckets()) {
        String note =
            s.error() != null
                ? "ERROR " + s.error()
                : s.joinsSkipped() ? "joins wait for first-time backfill" : "";
        out.printf(
            "%-28s %8d %8d %8d %8d %8d  %s%n",
            s.bucketId(),
            s.clockLeaves(),
            s.maxDwellLeaves(),
            s.deferred(),
            s.absenceJoins(),
            s.expiryRearmed(),
            note);
      }
      if (report.buckets().isEmpty())
        out.println(
            bucket == null
                ? "no time-based buckets to sweep"
                : "bucket '" + bucket + "' is not an enabled time-based bucket");
      out.println("outbox rows re-dispatched: " + report.redispatched());
      return report.buckets().stream().anyMatch(s -> s.error() != null) ? 1 : 0;
    } finally {
      service.shutdown();
    }
  }
}
