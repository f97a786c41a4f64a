package dev.bucketflow.worker;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Bucket and journey definitions to load. */
public final class ContentOptions {

  @Option(
      names = "--buckets",
      defaultValue = "${env:BUCKETFLOW_BUCKETS:-examples/buckets}",
      description =
          "Bucket definitions: a JSON file (one definition or an array) or a directory of them "
              + "(env BUCKETFLOW_BUCKETS, default ${DEFAULT-VALUE}).")
  Path buckets;

  @Option(
      names = "--journeys",
      defaultValue = "${env:BUCKETFLOW_JOURNEYS:-examples/journeys}",
      description =
          "Journey definitions, same forms (env BUCKETFLOW_JOURNEYS, default ${DEFAULT-VALUE}).")
  Path journeys;

  @Option(
      names = "--enabled-buckets",
      defaultValue = "${env:ENABLED_BUCKETS:-*}",
      description =
          "'*' or a comma-separated list of bucket ids to run (env ENABLED_BUCKETS, default ${DEFAULT-VALUE}).")
  String enabledBuckets;

  @Option(
      names = "--enabled-switch-ttl",
      defaultValue = "${env:BUCKETFLOW_ENABLED_TTL_SECONDS:-5}",
      description =
          "Seconds a worker caches bucket_configs.enabled (env BUCKETFLOW_ENABLED_TTL_SECONDS, default ${DEFAULT-VALUE}).")
  long enabledSwitchTtlSeconds;

  @Option(
      names = "--reconcile-cron",
      defaultValue = "${env:BUCKET_RECONCILE_CRON:-*/5 * * * *}",
      description =
          "5-field cron of the reconcile sweep (env BUCKET_RECONCILE_CRON, default ${DEFAULT-VALUE}).")
  String reconcileCron;

  @Option(
      names = "--reconcile-chunk",
      defaultValue = "${env:BUCKETFLOW_RECONCILE_CHUNK:-1000}",
      description =
          "Rows per reconcile statement (env BUCKETFLOW_RECONCILE_CHUNK, default ${DEFAULT-VALUE}).")
  int reconcileChunk;

  @Option(
      names = "--reconcile-parallelism",
      defaultValue =
          "${env:BUCKETFLOW_RECONCILE_PARALLELISM:-"
              + dev.bucketflow.reconcile.ReconcileService.DEFAULT_PARALLELISM
              + "}",
      description =
          "Clock-leave chunks one bucket's sweep runs at once, each on its own connection; the extra"
              + " connections (this minus one) are shared by all of the worker's sweeps (env"
              + " BUCKETFLOW_RECONCILE_PARALLELISM, default ${DEFAULT-VALUE}).")
  int reconcileParallelism;
}
