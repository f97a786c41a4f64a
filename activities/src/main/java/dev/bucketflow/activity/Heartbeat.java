package dev.bucketflow.activity;

import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The running activity's heartbeat as a plain {@link Runnable}, so services below the activity
 * layer can report progress without knowing Temporal. Call {@link #current()} on the activity
 * thread, at entry; outside an activity (a service called directly) it is a no-op.
 *
 * <p>Calling it often is cheap: the SDK throttles heartbeats to about 80% of the heartbeat timeout
 * and sends them asynchronously. It throws {@link io.temporal.client.ActivityCompletionException}
 * when the server no longer wants this attempt (timed out, cancelled, retried elsewhere): the work
 * stops, and an open transaction rolls back.
 *
 * <p>Heartbeats are deliberately inline (between steps), never from a timer thread: a timer would
 * keep a hung attempt alive until its start-to-close timeout, which is what heartbeats are here to
 * avoid.
 */
public final class Heartbeat {

  private static final Runnable NONE = () -> {};

  private Heartbeat() {}

  public static Runnable current() {
    ActivityExecutionContext context;
    try {
      context = Activity.getExecutionContext();
    } catch (RuntimeException notInAnActivity) {
      return NONE;
    }
    return () -> context.heartbeat(null);
  }

  /**
   * As {@link #current()}, each heartbeat carrying {@code details} (the SDK keeps the latest, and
   * the server hands it to the next attempt if this one fails). No-op outside an activity.
   */
  public static <T> Consumer<T> withDetails() {
    ActivityExecutionContext context;
    try {
      context = Activity.getExecutionContext();
    } catch (RuntimeException notInAnActivity) {
      return details -> {};
    }
    return context::heartbeat;
  }

  /**
   * The details of the last heartbeat of an earlier attempt of this activity (a retry resumes from
   * them); empty on a first attempt, outside an activity, and when the details are not a {@code
   * type} (an attempt that heartbeat without details, or an older build's): the caller then starts
   * over, which its idempotent steps allow.
   */
  public static <T> Optional<T> lastDetails(Class<T> type) {
    ActivityExecutionContext context;
    try {
      context = Activity.getExecutionContext();
    } catch (RuntimeException notInAnActivity) {
      return Optional.empty();
    }
    try {
      return context.getHeartbeatDetails(type).filter(type::isInstance);
    } catch (RuntimeException unreadable) {
      return Optional.empty();
    }
  }
}
