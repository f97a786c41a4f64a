package dev.bucketflow.worker;

import dev.bucketflow.ingest.SignalPayloadConverter;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;

/** One way to reach Temporal from any command. */
final class Temporal {

  static WorkflowServiceStubs connect(String address) {
    return WorkflowServiceStubs.newServiceStubs(
        WorkflowServiceStubsOptions.newBuilder().setTarget(address).build());
  }

  /**
   * As {@link #connect(String)}, reporting the SDK's metrics (client, worker) into {@code metrics}.
   */
  static WorkflowServiceStubs connect(String address, com.uber.m3.tally.Scope metrics) {
    return WorkflowServiceStubs.newServiceStubs(
        WorkflowServiceStubsOptions.newBuilder()
            .setTarget(address)
            .setMetricsScope(metrics)
            .build());
  }

  static WorkflowClient client(WorkflowServiceStubs service, String namespace) {
    return WorkflowClient.newInstance(
        service,
        WorkflowClientOptions.newBuilder()
            .setNamespace(namespace)
            .setDataConverter(SignalPayloadConverter.dataConverter())
            .build());
  }

  /**
   * As {@link #client(WorkflowServiceStubs, String)}, with client interceptors (the worker's
   * visibility labels).
   */
  static WorkflowClient client(
      WorkflowServiceStubs service,
      String namespace,
      io.temporal.common.interceptors.WorkflowClientInterceptor... interceptors) {
    return WorkflowClient.newInstance(
        service,
        WorkflowClientOptions.newBuilder()
            .setNamespace(namespace)
            .setDataConverter(SignalPayloadConverter.dataConverter())
            .setInterceptors(interceptors)
            .build());
  }

  private Temporal() {}
}
