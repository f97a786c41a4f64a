package dev.bucketflow.ingest;

import java.util.List;

/**
 * One activity call's worth of events. {@code batchId} is deterministic ({@code
 * <workflowId>/<runId>/<seq>}) so a retried call is recognised and applied once.
 */
public record IngestBatch(String batchId, int shard, List<PendingEvent> events) {}
