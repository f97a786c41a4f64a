package dev.bucketflow.dispatch;

import java.time.Instant;
import java.util.Optional;

/**
 * Work a pass does after the outbox rows, under the same lease and budget: the PostHog mirror sends
 * its newest states here.
 */
public interface DeliveryStep {

  /** What a step did; {@code nextDue} is its earliest scheduled retry. */
  record Result(int delivered, int failed, int parked, boolean more, Optional<Instant> nextDue) {
    public static final Result NOTHING = new Result(0, 0, 0, false, Optional.empty());
  }

  /** Whether the pass may make one more target call: lease held, budget left (heartbeats too). */
  interface Control {
    boolean proceed();
  }

  Result run(int shard, int shards, Control control);
}
