package dev.bucketflow.ingest;

import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

@ActivityInterface
public interface IngestActivities {

  /**
   * Applies a batch in one transaction: stores events, merges contact properties, records
   * rejections and membership transitions. Idempotent: the batch id is recorded in the same
   * transaction ({@code ingest_batches}), so a retry of a committed batch changes nothing, and
   * events with an {@code idempotencyKey} are stored once across batches.
   */
  @ActivityMethod(name = "IngestBatch")
  IngestOutcome ingest(IngestBatch batch);
}
