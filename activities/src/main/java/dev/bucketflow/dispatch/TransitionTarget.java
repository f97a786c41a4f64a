package dev.bucketflow.dispatch;

/**
 * Something a transition must reach (journeys, fast-expiry timers, PostHog). Must be idempotent: a
 * row can be delivered more than once (at-least-once dispatch); the effect must happen once.
 * Throwing leaves the row undispatched for the next drain or sweep.
 */
public interface TransitionTarget {

  void deliver(OutboxRow row) throws Exception;
}
