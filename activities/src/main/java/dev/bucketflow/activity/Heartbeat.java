package dev.bucketflow.activity;

import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;

/**
 * The running activity's heartbeat as a plain {@link Runnable}, so services below the activity
 * layer can report progress without knowing Temporal. Call {@link #current()} on the activity
 * thread, at entry; outside an activity (a service called directly) it is a no-op.
 *
 * <p>Calling it often is cheap: the SDK throttles heartbeats to about 80% of the heartbeat timeout
 * and sends them asynchronously. It throws {@link io.temporal.client.ActivityCompletionException}
 * when the server no longer wants this attempt (timed out, cancelled, retried elsewhere): the
 * work stops, and an open transaction rolls back.
 *
 * <p>Heartbeats are deliberately inline (between steps), never from a timer thread: a timer
 * would keep a hung attempt alive until its start-to-close timeout, which is what heartbeats are
 * here to avoid.
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
}
