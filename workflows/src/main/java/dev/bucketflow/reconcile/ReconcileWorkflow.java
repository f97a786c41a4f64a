package dev.bucketflow.reconcile;

import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * The clock-driven sweep: as the cron workflow {@code bucketflow-reconcile} (every 5 minutes by
 * default) or on demand ({@code bucketflow reconcile}).
 */
@WorkflowInterface
public interface ReconcileWorkflow {

  String CRON_ID = "bucketflow-reconcile";
  String TYPE = "Reconcile";

  @WorkflowMethod(name = TYPE)
  ReconcileReport run(ReconcileRequest request);
}
