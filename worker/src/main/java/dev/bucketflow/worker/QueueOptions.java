package dev.bucketflow.worker;

import dev.bucketflow.shard.Shards;
import picocli.CommandLine.Option;

/** The wire contract's tunables: task queue and shard count (clients and workers must agree). */
public final class QueueOptions {

  @Option(
      names = "--task-queue",
      defaultValue = "${env:BUCKETFLOW_TASK_QUEUE:-bucketflow}",
      description = "Task queue (env BUCKETFLOW_TASK_QUEUE, default ${DEFAULT-VALUE}).")
  String taskQueue;

  @Option(
      names = "--shards",
      defaultValue = "${env:BUCKETFLOW_SHARDS:-" + Shards.DEFAULT_SHARDS + "}",
      description = "Number of ingest shards (env BUCKETFLOW_SHARDS, default ${DEFAULT-VALUE}).")
  int shards;
}
