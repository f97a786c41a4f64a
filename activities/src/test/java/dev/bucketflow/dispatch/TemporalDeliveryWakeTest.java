package dev.bucketflow.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The wake-up is sent off the writer's thread and coalesced per shard, without ever dropping one
 * that a commit needs (the sender is driven by hand here; the server call is recorded).
 */
class TemporalDeliveryWakeTest {

  final List<Integer> sent = Collections.synchronizedList(new ArrayList<>());
  final Queue<Runnable> pending = new ArrayDeque<>();

  TemporalDeliveryWake wake() {
    return new TemporalDeliveryWake(8, sent::add, pending::add);
  }

  @Test
  void aWakeIsSentLaterAndOneQueuedPerShardCoversTheCommitsBeforeItsSend() {
    TemporalDeliveryWake w = wake();
    w.shard(3);
    w.shard(3); // committed before the queued wake is sent: covered by it
    w.shard(11); // shard 11 of 8 is shard 3
    w.shard(5);
    assertThat(sent).isEmpty(); // nothing on the writer's thread
    assertThat(pending).hasSize(2);
    while (!pending.isEmpty()) pending.poll().run();
    assertThat(sent).containsExactly(3, 5);

    w.shard(3); // after the send: a new wake
    assertThat(pending).hasSize(1);
    pending.poll().run();
    assertThat(sent).containsExactly(3, 5, 3);
  }

  @Test
  void aCommitDuringTheSendQueuesAnotherWake() {
    List<Runnable> again = new ArrayList<>();
    TemporalDeliveryWake[] w = new TemporalDeliveryWake[1];
    w[0] =
        new TemporalDeliveryWake(
            8,
            shard -> {
              sent.add(shard);
              if (sent.size() == 1) w[0].shard(shard); // a writer commits while the signal flies
            },
            again::add);
    w[0].shard(2);
    again.remove(0).run();
    assertThat(again).hasSize(1); // the commit during the send was not coalesced away
    again.remove(0).run();
    assertThat(sent).containsExactly(2, 2);
  }

  @Test
  void aFailingSendIsLoggedAndTheNextWakeStillGoes() {
    List<Runnable> tasks = new ArrayList<>();
    TemporalDeliveryWake w =
        new TemporalDeliveryWake(
            8,
            shard -> {
              if (sent.isEmpty()) {
                sent.add(-1);
                throw new IllegalStateException("server unavailable");
              }
              sent.add(shard);
            },
            tasks::add);
    w.shard(1);
    tasks.remove(0).run(); // does not throw
    w.shard(1);
    tasks.remove(0).run();
    assertThat(sent).containsExactly(-1, 1);
  }

  @Test
  void itsOwnSenderThreadSendsAndStopsOnClose() throws Exception {
    CountDownLatch delivered = new CountDownLatch(2);
    TemporalDeliveryWake w =
        new TemporalDeliveryWake(
            8,
            shard -> {
              sent.add(shard);
              delivered.countDown();
            },
            null);
    w.all();
    w.shardsOf(List.of("u1"));
    assertThat(delivered.await(10, TimeUnit.SECONDS)).isTrue();
    w.close();
    w.shard(4); // after close: dropped, not thrown
    assertThat(sent).isNotEmpty().allMatch(s -> s >= 0 && s < 8);
  }
}
