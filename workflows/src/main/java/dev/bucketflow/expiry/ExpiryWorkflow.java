package dev.bucketflow.expiry;

import dev.bucketflow.bucket.WorkflowIds;
import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Per-member durable timer of a {@code fastExpiry} bucket, id {@code
 * bucketflow-expiry:<bucket>:<entry_count>:<user>} (long user ids hashed, see {@link WorkflowIds}).
 * The same shape serves three kinds of instants, all decided by the activity under the row locks:
 * the epoch's leave deadline, its dwell events, and — while the user is not yet a member of that
 * epoch — the instant the criteria turn true by the clock (a clock join).
 */
@WorkflowInterface
public interface ExpiryWorkflow {

  String TYPE = "BucketExpiry";

  static String workflowId(String bucketId, String userId, int entryCount) {
    return WorkflowIds.expiry(bucketId, userId, entryCount);
  }

  @WorkflowMethod(name = TYPE)
  void run(ExpiryRequest request);

  /** Signal name of {@link #deadlineMoved}. */
  String DEADLINE_MOVED = "deadlineMoved";

  /**
   * A writer moved the member's deadline ({@code min(expires_at, max_dwell_at)}, epoch ms); sent
   * after its transaction commits. Only an earlier instant changes anything: the watch wakes then
   * and asks leave-or-extend, which re-reads the row under its lock, so a stale or lost signal can
   * only make a leave late (the reconcile tick re-arms), never wrong.
   */
  @SignalMethod(name = DEADLINE_MOVED)
  void deadlineMoved(long deadlineMillis);

  /** The deadline (ISO-8601) the workflow sleeps toward. */
  @QueryMethod(name = "deadline")
  String deadline();
}
