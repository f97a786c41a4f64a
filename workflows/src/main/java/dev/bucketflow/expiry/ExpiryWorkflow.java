package dev.bucketflow.expiry;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/** Per-member durable timer of a {@code fastExpiry} bucket: {@code bucketflow-expiry-<bucket>-<user>-<entry_count>}. */
@WorkflowInterface
public interface ExpiryWorkflow {

  String TYPE = "BucketExpiry";

  static String workflowId(String bucketId, String userId, int entryCount) {
    return "bucketflow-expiry-" + bucketId + "-" + userId + "-" + entryCount;
  }

  @WorkflowMethod(name = TYPE)
  void run(ExpiryRequest request);

  /** The deadline (ISO-8601) the workflow sleeps toward. */
  @QueryMethod(name = "deadline")
  String deadline();
}
