package dev.bucketflow.ingest;

/**
 * Tuning of the ingest shards, fixed for a worker's lifetime (changing it between replays of
 * one run would be non-deterministic, so it only takes effect on new runs).
 *
 * @param maxBatchSize events per activity call
 * @param continueAsNewAfter history length after which a shard continues as new
 */
public record IngestSettings(int maxBatchSize, int continueAsNewAfter) {

  public static final IngestSettings DEFAULTS = new IngestSettings(500, 2_000);

  public IngestSettings {
    if (maxBatchSize < 1) throw new IllegalArgumentException("maxBatchSize must be >= 1");
    if (continueAsNewAfter < 10) throw new IllegalArgumentException("continueAsNewAfter must be >= 10");
  }
}
