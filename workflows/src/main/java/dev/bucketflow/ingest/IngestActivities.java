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

  /**
   * Stores a segment of pending events that will not fit the shard's continue-as-new input.
   * Idempotent: keyed by the segment id (an upsert of the same events).
   */
  @ActivityMethod(name = "SpillEvents")
  void spill(SpillSegment segment);

  /**
   * Reads a spilled segment back (its rows stay until a batch releases them, so a retry after a
   * lost result reads the same events). Read-only, hence idempotent.
   */
  @ActivityMethod(name = "LoadSpilledEvents")
  SpillSegment loadSpill(String segmentId);
}
