package dev.bucketflow.ingest;

import java.util.List;

/**
 * One activity call's worth of events. {@code batchId} is deterministic ({@code
 * <workflowId>/<runId>/<seq>}) so a retried call is recognised and applied once. {@code
 * releaseSpill} names spill segments whose events the workflow already holds (loaded into its
 * history): the batch's transaction deletes them.
 */
public record IngestBatch(
    String batchId, int shard, List<PendingEvent> events, List<String> releaseSpill) {

  public IngestBatch(String batchId, int shard, List<PendingEvent> events) {
    this(batchId, shard, events, List.of());
  }

  public List<String> releaseSpillOrEmpty() {
    return releaseSpill == null ? List.of() : releaseSpill;
  }
}
