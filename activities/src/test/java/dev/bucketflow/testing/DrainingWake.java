package dev.bucketflow.testing;

import dev.bucketflow.dispatch.DeliveryWake;
import dev.bucketflow.dispatch.OutboxDispatcher;
import java.util.Collection;

/**
 * A {@link DeliveryWake} that delivers at once, in the caller's thread (no delivery workflow in
 * these tests).
 */
public record DrainingWake(OutboxDispatcher dispatcher) implements DeliveryWake {

  @Override
  public void shardsOf(Collection<String> userIds) {
    dispatcher.drain();
  }

  @Override
  public void shard(int shard) {
    dispatcher.drain();
  }

  @Override
  public void all() {
    dispatcher.drain();
  }
}
