package dev.bucketflow.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waiting in wall-clock time for something a test environment's worker does on its own threads
 * (time skipping moves only the server's clock, never this one).
 */
public final class RealTime {

  private RealTime() {}

  /**
   * Polls {@code condition} every 20 ms; fails the test once {@code within} has passed without it.
   */
  public static void await(BooleanSupplier condition, Duration within) throws InterruptedException {
    long until = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > until)
        throw new AssertionError("condition not reached within " + within);
      Thread.sleep(20);
    }
  }
}
