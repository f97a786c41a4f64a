package dev.bucketflow.worker;

import picocli.CommandLine.Option;

/** Where Temporal is and how Bucketflow uses it. */
public final class TemporalOptions {

  @Option(
      names = "--address",
      defaultValue = "${env:TEMPORAL_ADDRESS:-127.0.0.1:7233}",
      description = "Temporal frontend host:port (env TEMPORAL_ADDRESS, default ${DEFAULT-VALUE}).")
  String address;

  @Option(
      names = "--namespace",
      defaultValue = "${env:TEMPORAL_NAMESPACE:-default}",
      description = "Temporal namespace (env TEMPORAL_NAMESPACE, default ${DEFAULT-VALUE}).")
  String namespace;
}
