package dev.bucketflow.worker;

import static dev.bucketflow.worker.TestServerFixes.field;
import static dev.bucketflow.worker.TestServerFixes.read;
import static dev.bucketflow.worker.TestServerFixes.services;

import io.temporal.testserver.TestServer;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.locks.Lock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes Temporal's Java test server (temporal-test-server 1.38.0) hand out tasks of one priority in
 * the order they were queued. Its {@code TaskQueue} keeps a task queue's backlog in a {@code
 * PriorityQueue} ordered by priority key alone, and a binary heap does not keep equal keys in
 * insertion order: with every task at the default priority, a poll takes the root and moves the
 * newest element up in its place, so under a standing backlog the newest tasks are served first and
 * an old one can wait until the backlog is gone. In {@code bench e2e} an ingest shard's workflow
 * task waited up to 15-20 s behind the journey tasks queued after it (a worker's sticky queue holds
 * the tasks of every workflow it has cached, journeys included), which made the seconds-long tail
 * of event-to-transition latency.
 *
 * <p>The fix gives every task queue, present and future, a backlog ordered by priority key and then
 * by arrival. What the server serves and when is otherwise unchanged. A real Temporal server
 * matches tasks of a priority in arrival order. If the server's layout is not the one expected
 * (another SDK version; checked on a throwaway queue before anything is changed), it logs and
 * leaves the server as it is, and a queue that cannot be patched later keeps the server's order.
 */
final class TestServerTaskQueues {

  private static final Logger log = LoggerFactory.getLogger(TestServerTaskQueues.class);

  private static final List<String> QUEUE_MAPS =
      List.of("workflowTaskQueues", "activityTaskQueues");

  private TestServerTaskQueues() {}

  /** Applies the fix to {@code server}; false (and a warning) when it could not. */
  static boolean servedInArrivalOrder(TestServer.PortBoundTestServer server) {
    try {
      Object store = read(services(server), "workflowStore");
      // A server with no queues yet (dev, the benches, the tests) would only meet another layout
      // on its first queue: check it on a queue of its own first.
      probeQueueLayout(store);
      Lock lock = (Lock) read(store, "lock");
      lock.lock(); // the store's own lock guards its maps of queues
      try {
        for (String name : QUEUE_MAPS) {
          Field f = field(store.getClass(), name);
          Map<?, ?> old = (Map<?, ?>) f.get(store);
          QueuesInArrivalOrder fresh = new QueuesInArrivalOrder();
          for (Map.Entry<?, ?> e : old.entrySet()) fresh.put(e.getKey(), e.getValue());
          f.set(store, fresh);
        }
      } finally {
        lock.unlock();
      }
      return true;
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn(
          "could not make the Temporal test server serve tasks in arrival order ({}); under a "
              + "backlog the newest tasks go first",
          e.toString());
      return false;
    }
  }

  /**
   * The store's map of task queues: a queue is given an arrival-ordered backlog as it is put in
   * (the store creates queues on first use, under its lock, and only gets and puts them).
   */
  private static final class QueuesInArrivalOrder extends HashMap<Object, Object> {
    private boolean warned;

    @Override
    public Object put(Object key, Object queue) {
      try {
        inArrivalOrder(queue);
      } catch (ReflectiveOperationException | RuntimeException e) {
        // Never fail the server's own call: this queue keeps the server's order.
        if (!warned) log.warn("a test server task queue keeps its own order ({})", e.toString());
        warned = true;
      }
      return super.put(key, queue);
    }
  }

  /** Patches a queue made by the server's own constructor, as the store makes one. */
  private static void probeQueueLayout(Object store) throws ReflectiveOperationException {
    Class<?> queueType =
        Class.forName(
            "io.temporal.internal.testservice.TaskQueue", true, store.getClass().getClassLoader());
    var make = queueType.getDeclaredConstructor();
    make.setAccessible(true);
    inArrivalOrder(make.newInstance());
  }

  /** Replaces {@code queue}'s backlog, moving what it holds (under the queue's monitor). */
  @SuppressWarnings("unchecked")
  private static void inArrivalOrder(Object queue) throws ReflectiveOperationException {
    Field f = field(queue.getClass(), "backlog");
    synchronized (queue) { // TaskQueue's methods are synchronized on the queue
      // Another layout fails here (a ClassCastException): the caller leaves the queue alone.
      PriorityQueue<Object> old = (PriorityQueue<Object>) f.get(queue);
      if (old instanceof ArrivalOrderBacklog) return;
      ArrivalOrderBacklog fresh = ArrivalOrderBacklog.of((Comparator<Object>) old.comparator());
      List<Object> waiting = new ArrayList<>();
      for (Object e = old.poll(); e != null; e = old.poll()) waiting.add(e);
      fresh.addAll(waiting);
      f.set(queue, fresh);
    }
  }

  /**
   * The server's priority order, ties broken by arrival. The queue only adds (through {@code
   * offer}), polls and asks whether it is empty, always holding its monitor.
   */
  static final class ArrivalOrderBacklog extends PriorityQueue<Object> {
    private final Map<Object, Long> arrival;
    private long next;

    private ArrivalOrderBacklog(Comparator<Object> order, Map<Object, Long> arrival) {
      super(order);
      this.arrival = arrival;
    }

    /** Ordered by {@code byPriority} (null: arrival alone), then by arrival. */
    static ArrivalOrderBacklog of(Comparator<Object> byPriority) {
      Map<Object, Long> arrival = new IdentityHashMap<>(); // element -> arrival number
      Comparator<Object> byArrival = Comparator.comparingLong(arrival::get);
      return new ArrivalOrderBacklog(
          byPriority == null ? byArrival : byPriority.thenComparing(byArrival), arrival);
    }

    @Override
    public boolean offer(Object element) {
      arrival.put(element, next++);
      return super.offer(element);
    }

    @Override
    public Object poll() {
      Object head = super.poll();
      if (head != null) arrival.remove(head);
      return head;
    }
  }
}
