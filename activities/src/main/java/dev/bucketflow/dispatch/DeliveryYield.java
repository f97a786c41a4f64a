package dev.bucketflow.dispatch;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Delivery cedes this worker's CPU to ingest: while an ingest batch runs in this worker, a delivery
 * pass pauses before each row (and each step call) for as long as its work since the previous pause
 * took, at most {@link DeliverySettings#yieldToIngest()}.
 *
 * <p>Why: ingest is the seconds-latency path (a member joins the instant the event arrives), while
 * journey starts are messaging that may start a moment later, the same ranking as {@code
 * JourneyRouter.JOURNEY_PRIORITY} gives their tasks on the server. On a worker whose cores are
 * shared, delivery (journey starts, exits, PostHog calls) otherwise takes as much CPU as ingest
 * does: with both woken by a burst, {@code bench e2e} put half of the worker's activity CPU in
 * delivery. Pausing as long as the work took halves a delivery thread's share at most and costs a
 * row that called nothing (no journey, no watch) next to nothing; the cap keeps a slow call from
 * buying a long pause. Delivery slows under a standing ingest load but never stops. Only this
 * worker's ingest counts: on another machine it does not compete for these cores.
 */
public final class DeliveryYield {

  /** How a pause is spent; tests record it instead of sleeping. */
  @FunctionalInterface
  public interface Pause {
    void pause(Duration d) throws InterruptedException;
  }

  /** Marks one ingest batch running; closing it ends the mark (exactly once). */
  public interface Running extends AutoCloseable {
    @Override
    void close();
  }

  private final Duration cap;
  private final Pause sleeper;
  private final LongSupplier nanoTime;
  private final AtomicInteger ingestRunning = new AtomicInteger();

  public DeliveryYield(Duration cap) {
    this(cap, d -> Thread.sleep(d.toMillis(), d.toNanosPart() % 1_000_000), System::nanoTime);
  }

  /**
   * @param cap longest pause; zero never pauses
   * @param nanoTime the clock the work is timed with
   */
  public DeliveryYield(Duration cap, Pause sleeper, LongSupplier nanoTime) {
    if (cap.isNegative()) throw new IllegalArgumentException("cap must not be negative");
    this.cap = cap;
    this.sleeper = sleeper;
    this.nanoTime = nanoTime;
  }

  /** Never pauses (tests and tools without ingest). */
  public static DeliveryYield none() {
    return new DeliveryYield(Duration.ZERO);
  }

  /** Called by ingest around a batch's transaction. */
  public Running ingestStarted() {
    ingestRunning.incrementAndGet();
    AtomicBoolean open = new AtomicBoolean(true);
    return () -> {
      if (open.compareAndSet(true, false)) ingestRunning.decrementAndGet();
    };
  }

  /** Ingest batches running in this worker now. */
  public int ingestRunning() {
    return ingestRunning.get();
  }

  /** Now, on the clock {@link #yieldAfter} measures with: where a pass's first work starts. */
  public long now() {
    return nanoTime.getAsLong();
  }

  /**
   * Called by delivery between calls: while ingest runs, pauses as long as the work since {@code
   * workStartedNanos} took, at most the cap. Returns where the next work starts. An interrupt ends
   * the pause and stays set for the caller.
   */
  public long yieldAfter(long workStartedNanos) {
    long now = nanoTime.getAsLong();
    if (cap.isZero() || ingestRunning.get() == 0) return now;
    long worked = Math.max(0, now - workStartedNanos);
    Duration pause = Duration.ofNanos(Math.min(worked, cap.toNanos()));
    if (pause.isZero()) return now;
    try {
      sleeper.pause(pause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return nanoTime.getAsLong();
  }
}
