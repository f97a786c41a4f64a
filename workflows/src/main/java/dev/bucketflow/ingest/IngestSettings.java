package dev.bucketflow.ingest;

/**
 * Tuning of the ingest shards, fixed for a worker's lifetime (changing it between replays of one
 * run would be non-deterministic, so it only takes effect on new runs).
 *
 * @param maxBatchSize events per activity call
 * @param continueAsNewAfter history length after which a shard continues as new
 * @param maxPayloadBytes budget of every activity input and continue-as-new input the shard
 *     produces (Temporal refuses payloads over 2 MB); 0 (absent in settings recorded by older
 *     workers) means {@link #DEFAULT_PAYLOAD_BYTES}
 */
public record IngestSettings(int maxBatchSize, int continueAsNewAfter, int maxPayloadBytes) {

  public static final int DEFAULT_PAYLOAD_BYTES = 1024 * 1024;

  /** Room for the largest single event and its frame: a budget below it could not move one. */
  public static final int MIN_PAYLOAD_BYTES = 2 * EventShape.MAX_EVENT_BYTES + 4096;

  /** Temporal's own payload limit (a real server refuses larger payloads). */
  public static final int MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;

  public static final IngestSettings DEFAULTS =
      new IngestSettings(500, 2_000, DEFAULT_PAYLOAD_BYTES);

  public IngestSettings {
    if (maxBatchSize < 1) throw new IllegalArgumentException("maxBatchSize must be >= 1");
    if (continueAsNewAfter < 10)
      throw new IllegalArgumentException("continueAsNewAfter must be >= 10");
    if (maxPayloadBytes == 0) maxPayloadBytes = DEFAULT_PAYLOAD_BYTES;
    if (maxPayloadBytes < MIN_PAYLOAD_BYTES || maxPayloadBytes > MAX_PAYLOAD_BYTES) {
      throw new IllegalArgumentException(
          "maxPayloadBytes must be between " + MIN_PAYLOAD_BYTES + " and " + MAX_PAYLOAD_BYTES);
    }
  }

  public IngestSettings(int maxBatchSize, int continueAsNewAfter) {
    this(maxBatchSize, continueAsNewAfter, DEFAULT_PAYLOAD_BYTES);
  }
}
