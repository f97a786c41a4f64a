package dev.bucketflow.dispatch;

import java.util.Collection;

/**
 * Tells delivery workflows that their outbox has new rows. Called by a writer only after its commit
 * (no network under row locks), best effort: a lost wake-up delays delivery until the workflow's
 * next poll, it never loses a row. Never throws.
 */
public interface DeliveryWake extends AutoCloseable {

  DeliveryWake NONE =
      new DeliveryWake() {
        @Override
        public void shardsOf(Collection<String> userIds) {}

        @Override
        public void shard(int shard) {}

        @Override
        public void all() {}
      };

  /** Wakes one delivery shard. */
  void shard(int shard);

  /** Wakes the delivery shards of these users. */
  void shardsOf(Collection<String> userIds);

  /** Wakes (and, where missing, starts) every shard's delivery workflow. */
  void all();

  /** Releases what sends the wake-ups (none by default); wake-ups not yet sent are dropped. */
  @Override
  default void close() {}
}
