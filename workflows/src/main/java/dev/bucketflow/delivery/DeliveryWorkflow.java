package dev.bucketflow.delivery;

import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Delivers one delivery shard's outbox rows (transitions, journey events, the PostHog mirror) to
 * their targets, forever: one workflow per shard, id {@link #workflowId}, so at most one pass of a
 * shard is scheduled at a time and a user's rows are delivered in commit order. Writers {@link
 * #WAKE} it (signal-with-start) after their commit; it also polls, so a lost wake-up only delays
 * delivery.
 */
@WorkflowInterface
public interface DeliveryWorkflow {

  String TYPE = "OutboxDelivery";
  String WAKE = "wake";
  String ID_PREFIX = "bucketflow-delivery-";

  static String workflowId(int shard) {
    return ID_PREFIX + shard;
  }

  @WorkflowMethod(name = TYPE)
  void run(DeliveryRequest request);

  /** Something was committed to this shard's outbox. */
  @SignalMethod(name = WAKE)
  void wake();
}
