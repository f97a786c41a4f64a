package dev.bucketflow.backfill;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * First-time backfill or criteria-change re-evaluation of one bucket (DESIGN §9), one workflow per
 * (bucket, criteria hash): {@code bucketflow-backfill-<bucketId>-<first 16 hex of the hash>}, so
 * several workers booting at once start it once.
 */
@WorkflowInterface
public interface BackfillWorkflow {

  String TYPE = "BucketBackfill";

  static String workflowId(String bucketId, String criteriaHash) {
    String shortHash = criteriaHash.length() > 16 ? criteriaHash.substring(0, 16) : criteriaHash;
    return "bucketflow-backfill-" + bucketId + "-" + shortHash;
  }

  /** Runs the job to its end and returns the final progress. */
  @WorkflowMethod(name = TYPE)
  BackfillProgress run(BackfillRequest request);

  @QueryMethod(name = "progress")
  BackfillProgress progress();
}
