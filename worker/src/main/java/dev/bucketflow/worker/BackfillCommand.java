package dev.bucketflow.worker;

import com.zaxxer.hikari.HikariDataSource;
import dev.bucketflow.backfill.BackfillProgress;
import dev.bucketflow.backfill.BackfillRequest;
import dev.bucketflow.backfill.BackfillService;
import dev.bucketflow.backfill.BackfillWorkflow;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.db.Database;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.serviceclient.WorkflowServiceStubs;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.jooq.DSLContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code buckets backfill <id>}: (re)runs a bucket's backfill now through the running workers and
 * follows it with a progress bar (plain lines when not on a terminal). A bucket whose criteria
 * changed since its last backfill gets a re-evaluation (leaves emit), a never-backfilled one a
 * first-time backfill (no join events), otherwise the current criteria are walked again as a
 * re-evaluation.
 */
@Command(
    name = "backfill",
    mixinStandardHelpOptions = true,
    description = "Run a bucket's backfill now (needs a running worker) and show its progress.")
final class BackfillCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin TemporalOptions temporal;
  @Mixin QueueOptions queue;
  @Mixin DatabaseOptions database;

  @Parameters(index = "0", paramLabel = "BUCKET_ID")
  String bucketId;

  @Option(
      names = "--buckets",
      defaultValue = "${env:BUCKETFLOW_BUCKETS:-examples/buckets}",
      description =
          "Bucket definitions the workers run (env BUCKETFLOW_BUCKETS, default ${DEFAULT-VALUE}).")
  java.nio.file.Path buckets;

  @Override
  public Integer call() throws Exception {
    CliDatabase.quietLibraries();
    PrintWriter out = spec.commandLine().getOut();
    List<BucketDefinition> definitions = Content.buckets(buckets, "*");
    BucketDefinition bucket =
        definitions.stream()
            .filter(b -> b.id().equals(bucketId))
            .findFirst()
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "bucket '" + bucketId + "' is not defined in " + buckets));
    if (bucket.manual())
      throw new IllegalArgumentException(
          "bucket '" + bucketId + "' is manual: nothing to backfill");
    String hash = BucketJson.fingerprint(bucket);
    try (HikariDataSource ds =
        CliDatabase.open(database.jdbcUrl(), database.user, database.password, 2)) {
      DSLContext dsl = Database.dsl(ds);
      Clock clock = Clock.systemUTC();
      BackfillService service =
          Assembly.offline(dsl, definitions, Duration.ofSeconds(5), clock, 1000).backfill();
      BackfillKind kind = service.plan(bucket).kind().orElse(BackfillKind.REEVAL);
      WorkflowServiceStubs stubs = Temporal.connect(temporal.address);
      try {
        WorkflowClient client = Temporal.client(stubs, temporal.namespace);
        String workflowId = BackfillWorkflow.workflowId(bucket.id(), hash);
        BackfillWorkflow wf =
            client.newWorkflowStub(
                BackfillWorkflow.class,
                WorkflowOptions.newBuilder()
                    .setWorkflowId(workflowId)
                    .setTaskQueue(queue.taskQueue)
                    .build());
        try {
          service.restart(bucket.id(), hash, kind);
          WorkflowClient.start(wf::run, BackfillRequest.of(bucket.id(), hash, kind));
          out.println("started " + kind.db() + " backfill " + workflowId);
        } catch (WorkflowExecutionAlreadyStarted e) {
          out.println("following the running backfill " + workflowId);
        }
        return follow(client, workflowId, out);
      } finally {
        stubs.shutdown();
      }
    }
  }

  private int follow(WorkflowClient client, String workflowId, PrintWriter out)
      throws InterruptedException {
    BackfillWorkflow wf = client.newWorkflowStub(BackfillWorkflow.class, workflowId);
    WorkflowStub untyped = WorkflowStub.fromTyped(wf);
    ProgressBar bar = new ProgressBar(out, System.console() != null);
    while (true) {
      BackfillProgress p;
      try {
        p = wf.progress();
      } catch (RuntimeException closed) {
        // The run is over: its result is the final progress.
        p = untyped.getResult(BackfillProgress.class);
        bar.show(p);
        bar.finish(p);
        return p.status() == BackfillStatus.COMPLETED ? 0 : 1;
      }
      bar.show(p);
      if (p.status() == BackfillStatus.COMPLETED || p.status() == BackfillStatus.FAILED) {
        bar.finish(p);
        return p.status() == BackfillStatus.COMPLETED ? 0 : 1;
      }
      Thread.sleep(500);
    }
  }
}
