package dev.bucketflow.posthog;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.dispatch.OutboxRow;
import dev.bucketflow.dispatch.TransitionTarget;
import dev.bucketflow.membership.BucketCatalog;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostHog mirror (DESIGN §11) as a dispatch target: a join of a {@code syncToPostHog} bucket sets
 * the person property {@link BucketDefinition#postHogKey()} to {@code true}, a leave unsets it
 * (request shape: {@link PostHogClient}).
 *
 * <p><b>Best effort, never in the way.</b> {@link #deliver} only records the wanted state and hands
 * the request to a small background scheduler; it never throws and never touches the network, so
 * PostHog being slow or down can neither fail membership nor hold back the other targets of the
 * {@link dev.bucketflow.dispatch.OutboxDispatcher} (and never causes a row to be re-dispatched).
 * Failures (non-2xx, I/O, timeout) are retried with exponential backoff
 * ({@link PostHogSettings#initialBackoff()}, doubling, capped at {@link PostHogSettings#MAX_BACKOFF})
 * up to {@link PostHogSettings#maxAttempts()}; the final failure is logged with bucket and user ids
 * and dropped. Because PostHog is a mirror and not a source of truth, a mirror that missed an update
 * is corrected by that user's next transition in the bucket.
 *
 * <p><b>Membership, not emission.</b> Every transition row is mirrored, including joins recorded with
 * {@code emitted=false} (suppressed by the bucket's {@code entryLimit}): the limit governs whether a
 * join <em>triggers</em> anything (journeys, the generic event), but the user <em>is</em> a member, and
 * membership is what the PostHog property mirrors. Otherwise a re-entry after a suppressed join would
 * leave the property unset while the user is in the bucket.
 *
 * <p><b>Ordering.</b> PostHog applies person updates in ingestion order, so the requests for one
 * (user, bucket) are sent one at a time and only the newest state is sent: transitions are ordered by
 * {@code (epoch, entered < left)} — a user's n-th join and its leave share epoch n. A newer transition
 * arriving while an older one is in flight or waiting to retry replaces it (the older is never sent
 * afterwards), and a re-delivered older row (at-least-once dispatch) is ignored, so a late retry of a
 * join can never re-set the property after the leave. This memory is per process and bounded
 * ({@value #REMEMBERED_KEYS} (user, bucket) pairs, least recently used forgotten first).
 *
 * <p><b>Bounded.</b> At most {@code capacity} (user, bucket) pairs are pending at once; beyond that a
 * transition is dropped with a warning (never queued without bound, never blocking the caller).
 *
 * <p><b>Off by default.</b> Without {@code POSTHOG_API_KEY} this is a silent no-op: no HTTP client,
 * no thread, no request.
 */
public final class PostHogSync implements TransitionTarget, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PostHogSync.class);

  public static final int DEFAULT_THREADS = 2;
  public static final int DEFAULT_CAPACITY = 10_000;
  public static final Duration DEFAULT_DRAIN = Duration.ofSeconds(10);
  static final int REMEMBERED_KEYS = 100_000;
  private static final AtomicInteger POOLS = new AtomicInteger();

  private final BucketCatalog catalog;
  private final PostHogSettings settings;
  private final int capacity;
  private final PostHogClient client;
  private final ScheduledThreadPoolExecutor executor;

  private final Object lock = new Object();
  private final Map<SlotKey, Slot> slots = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<SlotKey, Slot> eldest) {
      return size() > REMEMBERED_KEYS && !eldest.getValue().running;
    }
  };
  private int pending;
  private boolean closed;

  public PostHogSync(BucketCatalog catalog, PostHogSettings settings) {
    this(catalog, settings, DEFAULT_THREADS, DEFAULT_CAPACITY);
  }

  /**
   * @param threads background threads sending requests (each request blocks one for at most
   *     {@link PostHogSettings#timeout()})
   * @param capacity most (user, bucket) pairs waiting to be sent or retried at once
   */
  public PostHogSync(BucketCatalog catalog, PostHogSettings settings, int threads, int capacity) {
    if (threads < 1 || capacity < 1) throw new IllegalArgumentException("threads and capacity must be positive");
    this.catalog = catalog;
    this.settings = settings;
    this.capacity = capacity;
    if (settings.enabled()) {
      this.client = new PostHogClient(settings);
      this.executor = new ScheduledThreadPoolExecutor(threads, daemonThreads());
      this.executor.setRemoveOnCancelPolicy(true);
      log.info("PostHog mirror on: {}", settings);
    } else {
      this.client = null;
      this.executor = null;
    }
  }

  /** Whether the mirror sends anything (an API key is set). */
  public boolean enabled() {
    return executor != null;
  }

  /** Records the wanted property state and returns at once; never throws, never blocks on I/O. */
  @Override
  public void deliver(OutboxRow row) {
    if (executor == null) return;
    try {
      BucketDefinition bucket = catalog.byId(row.bucketId()).orElse(null);
      if (bucket == null || !bucket.syncToPostHog()) return;
      enqueue(row, bucket.postHogKey());
    } catch (RuntimeException e) {
      // Never let the mirror fail a dispatch: that would re-run every other target.
      log.warn("PostHog mirror skipped transition {} (bucket={} user={}): {}", row.id(), row.bucketId(),
          row.userId(), e.toString());
    }
  }

  private void enqueue(OutboxRow row, String propertyKey) {
    long version = 2L * row.epoch() + (row.entered() ? 0 : 1);
    SlotKey key = new SlotKey(row.bucketId(), row.userId());
    synchronized (lock) {
      if (closed) {
        log.warn("PostHog mirror closed; not mirroring transition {} (bucket={} user={} {})", row.id(),
            row.bucketId(), row.userId(), row.kind());
        return;
      }
      Slot slot = slots.get(key);
      if (slot != null) {
        if (version < slot.version) return; // an older row re-delivered: a newer state is already known
        if (version == slot.version && (slot.running || slot.delivered)) return; // a duplicate delivery
      }
      if ((slot == null || !slot.running) && pending >= capacity) {
        log.warn("PostHog mirror backlog full ({} pending); dropping transition {} (bucket={} user={} {})",
            pending, row.id(), row.bucketId(), row.userId(), row.kind());
        return;
      }
      if (slot == null) {
        slot = new Slot(key);
        slots.put(key, slot);
      }
      slot.version = version;
      slot.set = row.entered();
      slot.propertyKey = propertyKey;
      slot.at = row.createdAt();
      slot.rowId = row.id();
      slot.delivered = false;
      if (!slot.running) {
        slot.running = true;
        slot.attemptedVersion = -1;
        pending++;
        schedule(slot, Duration.ZERO);
      }
      // else the running chain sends this newest state on its next attempt
    }
  }

  /** Called with {@link #lock} held. */
  private void schedule(Slot slot, Duration delay) {
    try {
      executor.schedule(() -> attempt(slot), delay.toNanos(), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      log.warn("PostHog mirror shut down; dropping {} of {} for user={} bucket={} (transition {})", verb(slot.set),
          slot.propertyKey, slot.key.userId(), slot.key.bucketId(), slot.rowId);
      finish(slot, false);
    }
  }

  private void attempt(Slot slot) {
    long version;
    boolean set;
    String propertyKey;
    Instant at;
    long rowId;
    int attemptNo;
    synchronized (lock) {
      if (slot.attemptedVersion != slot.version) {
        slot.attemptedVersion = slot.version;
        slot.attempts = 0;
      }
      attemptNo = ++slot.attempts;
      version = slot.version;
      set = slot.set;
      propertyKey = slot.propertyKey;
      at = slot.at;
      rowId = slot.rowId;
    }
    Exception failure = null;
    try {
      if (set) client.setProperty(slot.key.userId(), propertyKey, at);
      else client.unsetProperty(slot.key.userId(), propertyKey, at);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = e;
    } catch (IOException | RuntimeException e) {
      failure = e;
    }
    synchronized (lock) {
      if (slot.version != version) { // superseded meanwhile: send the newest state now
        schedule(slot, Duration.ZERO);
        return;
      }
      if (failure == null) {
        log.debug("PostHog mirror: {} {} for user={} bucket={} (transition {}, attempt {})", verb(set), propertyKey,
            slot.key.userId(), slot.key.bucketId(), rowId, attemptNo);
        finish(slot, true);
        return;
      }
      if (attemptNo >= settings.maxAttempts() || failure instanceof InterruptedException || executor.isShutdown()) {
        log.warn("PostHog mirror gave up after {} attempt(s): could not {} {} for user={} bucket={} (transition {}): {}",
            attemptNo, verb(set), propertyKey, slot.key.userId(), slot.key.bucketId(), rowId, failure.toString());
        finish(slot, false);
        return;
      }
      Duration backoff = settings.backoffAfter(attemptNo);
      log.debug("PostHog mirror attempt {} failed for user={} bucket={} (transition {}); retrying in {}: {}",
          attemptNo, slot.key.userId(), slot.key.bucketId(), rowId, backoff, failure.toString());
      schedule(slot, backoff);
    }
  }

  /** Called with {@link #lock} held. */
  private void finish(Slot slot, boolean delivered) {
    slot.delivered = delivered;
    slot.running = false;
    pending--;
    lock.notifyAll();
  }

  /** (user, bucket) pairs waiting to be sent or retried. */
  public int pending() {
    synchronized (lock) {
      return pending;
    }
  }

  /**
   * Waits until nothing is pending (every request sent or given up), at most {@code timeout}.
   * Returns whether it became idle; false also when interrupted (the flag is kept).
   */
  public boolean awaitIdle(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (pending > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) return false;
        try {
          TimeUnit.NANOSECONDS.timedWait(lock, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return true;
    }
  }

  /** {@link #close(Duration)} with {@link #DEFAULT_DRAIN}. */
  @Override
  public void close() {
    close(DEFAULT_DRAIN);
  }

  /**
   * Stops accepting transitions, lets pending requests (and their retries) finish for at most
   * {@code drain}, then stops the threads. Returns whether everything pending was finished.
   */
  public boolean close(Duration drain) {
    if (executor == null) return true;
    synchronized (lock) {
      closed = true;
    }
    boolean idle = awaitIdle(drain);
    executor.shutdownNow();
    if (!idle) log.warn("PostHog mirror closed with {} (user, bucket) update(s) not sent", pending());
    return idle;
  }

  private static String verb(boolean set) {
    return set ? "$set" : "$unset";
  }

  private static ThreadFactory daemonThreads() {
    int pool = POOLS.incrementAndGet();
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, "posthog-mirror-" + pool + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  private record SlotKey(String bucketId, String userId) {}

  /** The wanted state of one (user, bucket) property; guarded by {@link #lock}. */
  private static final class Slot {
    final SlotKey key;
    long version = -1;
    boolean set;
    String propertyKey;
    Instant at;
    long rowId;
    boolean running;
    boolean delivered;
    long attemptedVersion = -1;
    int attempts;

    Slot(SlotKey key) {
      this.key = key;
    }
  }
}
