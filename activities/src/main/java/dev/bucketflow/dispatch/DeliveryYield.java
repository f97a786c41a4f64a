package dev.bucketflow.dispatch;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Delivery cedes this worker's CPU to ingest: while an ingest batch runs in this process, every
 * target call of a delivery pass is preceded by a short pause ({@link
 * DeliverySettings#yieldToIngest()}).
 *
 * <p>Why: ingest is the seconds-latency path (a member joins the instant the event arrives), while
 * journey starts are messaging that may start a moment later, the same ranking as {@code
 * JourneyRouter.JOURNEY_PRIORITY} gives their tasks on the server. On a worker whose cores are
 * shared, delivery (journey starts, exits, PostHog calls) otherwise takes as much CPU as ingest
 * does: with both woken by a burst, {@code bench e2e} put half of the worker's activity CPU in
 * delivery. A pause per call bounds the cost: delivery still makes progress under a standing ingest
 * load (at least one call per pause per shard), so it slows down but never starves. Only ingest in
 * this process counts: on another machine it does not compete for these cores.
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

  private final Duration pause;
  private final Pause sleeper;
  private final AtomicInteger ingestRunning = new AtomicInteger();

  public DeliveryYield(Duration pause) {
    this(pause, d -> Thread.sleep(d.toMillis(), d.toNanosPart() % 1_000_000));
  }

  public DeliveryYield(Duration pause, Pause sleeper) {
    if (pause.isNegative()) throw new IllegalArgumentException("pause must not be negative");
    this.pause = pause;
    this.sleeper = sleeper;
  }

  /** Never pauses (tests and tools without ingest). */
  public static DeliveryYield none() {
    return new DeliveryYield(Duration.ZERO);
  }

  /** Called by ingest around a batch's transaction. */
  public Running ingestStarted() {
    ingestRunning.incrementAndGet();
    java.util.concurrent.atomic.AtomicBoolean open =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    return () -> {
      if (open.compareAndSet(true, false)) ingestRunning.decrementAndGet();
    };
  }

  /** Ingest batches running in this process now. */
  public int ingestRunning() {
    return ingestRunning.get();
  }

  /**
   * Called by delivery before a target call: pauses when ingest is running. An interrupt ends the
   * pause and stays set for the caller.
   */
  public void beforeTargetCall() {
    if (pause.isZero() || ingestRunning.get() == 0) return;
    try {
      sleeper.pause(pause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
