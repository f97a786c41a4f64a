package dev.bucketflow.expiry;

import dev.bucketflow.bucket.WorkflowIds;
import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Per-member durable timer of a {@code fastExpiry} bucket, id {@code
 * bucketflow-expiry:<bucket>:<entry_count>:<user>} (long user ids hashed, see {@link WorkflowIds}).
 */
@WorkflowInterface
public interface ExpiryWorkflow {

  String TYPE = "BucketExpiry";

  static String workflowId(String bucketId, String userId, int entryCount) {
    return WorkflowIds.expiry(bucketId, userId, entryCount);
  }

  @WorkflowMethod(name = TYPE)
  void run(ExpiryRequest request);

  /** The deadline (ISO-8601) the workflow sleeps toward. */
  @QueryMethod(name = "deadline")
  String deadline();
}
