package dev.bucketflow.worker;

import static dev.bucketflow.worker.TestServerFixes.field;
import static dev.bucketflow.worker.TestServerFixes.read;
import static dev.bucketflow.worker.TestServerFixes.services;

import io.temporal.testserver.TestServer;
import java.lang.reflect.Field;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.LinkedList;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.Lock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops a leak in Temporal's Java test server (temporal-test-server 1.38.0) that makes it slower
 * the longer it runs. Its {@code SelfAdvancingTimerImpl} keeps a debugging list of time-lock
 * events, {@code lockEvents}: every completed workflow task appends an UNLOCK entry that is never
 * removed, and every release of a lock handle (workflow task start and completion, activity
 * completion, timers, starts, signals) removes its LOCK entry with {@code LinkedList.remove}, a
 * scan from the head through every UNLOCK entry recorded so far. In {@code bench e2e}'s last phase
 * that scan was half of the process's CPU samples; {@code bucketflow dev} left running would only
 * get worse.
 *
 * <p>The fix swaps in a list that does not keep UNLOCK entries (no code path removes or reads them
 * but the server's diagnostic dump of an unbalanced unlock) and finds a released handle's LOCK
 * entry by hash instead of by scan. Time skipping, locking and everything the server does are
 * unchanged. If the server's layout is not the one expected (another SDK version), it logs and
 * leaves the server as it is.
 */
final class TestServerTimeLocks {

  private static final Logger log = LoggerFactory.getLogger(TestServerTimeLocks.class);

  private TestServerTimeLocks() {}

  /** Applies the fix to {@code server}; false (and a warning) when it could not. */
  static boolean stopLeak(TestServer.PortBoundTestServer server) {
    try {
      Object timer = timer(server);
      Lock lock = (Lock) read(timer, "lock");
      Field events = field(timer.getClass(), "lockEvents");
      lock.lock(); // the timer's own lock guards the list
      try {
        LinkedList<?> old = (LinkedList<?>) events.get(timer);
        LockEntriesByHash fresh = new LockEntriesByHash();
        for (Object e : old) fresh.add(e);
        events.set(timer, fresh);
      } finally {
        lock.unlock();
      }
      return true;
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn(
          "could not stop the Temporal test server's time-lock list from growing ({}); it will slow down "
              + "the longer it runs",
          e.toString());
      return false;
    }
  }

  /** What the server's time-lock list holds: all entries, and the UNLOCK ones among them. */
  record Retained(int entries, int unlocks) {}

  /** What the server's time-lock list holds now (tests); empty if unreadable. */
  static Optional<Retained> retained(TestServer.PortBoundTestServer server) {
    try {
      Object timer = timer(server);
      Lock lock = (Lock) read(timer, "lock");
      lock.lock();
      try {
        LinkedList<?> events = (LinkedList<?>) read(timer, "lockEvents");
        int unlocks = 0;
        for (Object e : events) {
          if (isUnlock(e)) unlocks++;
        }
        return Optional.of(new Retained(events.size(), unlocks));
      } finally {
        lock.unlock();
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * The replacement list: UNLOCK events are dropped, LOCK events kept in an identity set, so the
   * server's {@code remove} of a released handle's event is a hash lookup, not a scan. The server
   * only adds, removes and iterates it (its diagnostic dump); the {@code LinkedList} it extends,
   * for the field's type, stays empty. LOCK events taken without a handle (request contexts' timer
   * locks, one per completed workflow task) are never removed by the server and stay, as in the
   * original: a few dozen bytes each, beside the server's in-memory histories.
   */
  private static final class LockEntriesByHash extends LinkedList<Object> {
    private final Set<Object> locks = new LinkedHashSet<>(); // LockEvent has identity equality

    @Override
    public boolean add(Object event) {
      boolean unlock;
      try {
        unlock = isUnlock(event);
      } catch (ReflectiveOperationException | RuntimeException e) {
        unlock = false; // keep it: the list then behaves as the server's own
      }
      return unlock || locks.add(event);
    }

    @Override
    public boolean remove(Object event) {
      return locks.remove(event);
    }

    @Override
    public int size() {
      return locks.size();
    }

    @Override
    public boolean isEmpty() {
      return locks.isEmpty();
    }

    @Override
    public Iterator<Object> iterator() {
      return locks.iterator();
    }
  }

  /**
   * The field holding the event's type (LOCK or UNLOCK), looked up once: {@code add} is on the
   * server's hot path.
   */
  private static volatile Field lockType;

  /** Whether a {@code LockEvent} is an UNLOCK (its type prints as "U"). */
  private static boolean isUnlock(Object event) throws ReflectiveOperationException {
    Field type = lockType;
    if (type == null) lockType = type = field(event.getClass(), "lockType");
    return "U".equals(String.valueOf(type.get(event)));
  }

  private static Object timer(TestServer.PortBoundTestServer server)
      throws ReflectiveOperationException {
    return read(services(server), "selfAdvancingTimer");
  }
}
