package dev.bucketflow.delivery;

/**
 * Start (and continue-as-new) input of a shard's {@link DeliveryWorkflow}.
 *
 * @param shard this workflow's delivery shard, {@code 0 <= shard < shards}
 * @param shards the shard count (rows belong to {@code shard mod shards})
 * @param pollMillis longest wait between passes without a wake-up (the lost-wake-up backstop)
 */
public record DeliveryRequest(int shard, int shards, long pollMillis) {

  public static final long DEFAULT_POLL_MILLIS = 15_000;

  public DeliveryRequest {
    if (shards < 1 || shard < 0 || shard >= shards) {
      throw new IllegalArgumentException("shard: " + shard + " is not in [0, " + shards + ")");
    }
    if (pollMillis <= 0) pollMillis = DEFAULT_POLL_MILLIS;
  }
}
