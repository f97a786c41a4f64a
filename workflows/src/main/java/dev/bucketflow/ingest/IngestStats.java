package dev.bucketflow.ingest;

/**
 * Answer of the {@code stats} query. {@code lastBatchAt} is ISO-8601 or null before the first
 * batch.
 */
public record IngestStats(int shard, long applied, int pending, long batches, String lastBatchAt) {}
