package dev.bucketflow.ingest;

import java.util.List;

/**
 * Pending events a shard moved to PostgreSQL ({@code ingest_spill}) because they would not fit
 * its continue-as-new input; {@code id} ({@code <runId>/<seq>}) is unique across runs.
 */
public record SpillSegment(String id, int shard, List<PendingEvent> events) {}
