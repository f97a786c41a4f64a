package dev.bucketflow.ingest;

import java.util.List;

/**
 * Pending events a shard moved to PostgreSQL ({@code ingest_spill}) because they would not fit its
 * continue-as-new input; {@code id} is {@code <workflowId>/<seq>}, the sequence running on across
 * continue-as-new.
 */
public record SpillSegment(String id, int shard, List<PendingEvent> events) {}
