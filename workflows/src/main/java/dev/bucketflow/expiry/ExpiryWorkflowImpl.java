package dev.bucketflow.expiry;

import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.workflow.CancellationScope;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.time.Instant;

/**
 * Sleeps until the deadline, asks to leave-or-extend, and sleeps again while the member qualifies.
 * A {@link #deadlineMoved} signal with an earlier instant cuts the sleep short (the timer is
 * cancelled and a new one started); a later or equal one is ignored — later deadlines only ever
 * come back from the leave-or-extend activity, which reads the row under its lock.
 */
public class ExpiryWorkflowImpl implements ExpiryWorkflow {

  /** Version gate of the signal-aware sleep; runs started before it keep their plain sleep. */
  static final String FOLLOW_EARLIER_DEADLINE = "follow-earlier-deadline";

  private final ExpiryActivities activities =
      Workflow.newActivityStub(
          ExpiryActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofSeconds(30))
              .setHeartbeatTimeout(dev.bucketflow.Liveness.HEARTBEAT_TIMEOUT)
              // Up to a minute, not Liveness.retryForever's 5 s: watches are per member, not per
              // shard, so in a database outage every due watch would retry 12 times as often,
              // each attempt holding an activity slot that ingest and delivery need.
              .setRetryOptions(
                  RetryOptions.newBuilder().setMaximumInterval(Duration.ofMinutes(1)).build())
              .build());

  private long deadlineMillis;

  /** The earliest deadline signalled and not yet slept toward; MAX_VALUE when none. */
  private long signalledMillis = Long.MAX_VALUE;

  @Override
  public void run(ExpiryRequest request) {
    ExpiryRequest armed = request;
    deadlineMillis = armed.deadlineMillis();
    boolean follows =
        Workflow.getVersion(FOLLOW_EARLIER_DEADLINE, Workflow.DEFAULT_VERSION, 1) >= 1;
    for (int rounds = 0; ; rounds++) {
      if (follows) {
        sleepFollowingEarlierDeadlines();
      } else {
        long wait = deadlineMillis - Workflow.currentTimeMillis();
        Workflow.setCurrentDetails(
            "sleeping until "
                + java.time.Instant.ofEpochMilli(deadlineMillis)
                + ", then leave or extend");
        if (wait > 0) Workflow.sleep(Duration.ofMillis(wait));
      }
      armed = armed.rearmedAt(deadlineMillis);
      ExpiryCheck check = activities.leaveOrExtend(armed);
      if (check.status() != ExpiryCheck.Status.EXTENDED) return;
      deadlineMillis = check.nextDeadlineMillis();
      armed = armed.rearmedAt(deadlineMillis);
      if (rounds >= 500) {
        // A signal not yet slept toward travels into the next run.
        Workflow.continueAsNew(
            follows ? armed.rearmedAt(Math.min(deadlineMillis, signalledMillis)) : armed);
      }
    }
  }

  /**
   * Re-armable timer (DESIGN §12): sleeps toward {@link #deadlineMillis}; an earlier signalled
   * deadline replaces it. Signals that arrive while the activity runs stay pending and are honoured
   * against the deadline it returns — the row may have moved after the activity read it.
   */
  private void sleepFollowingEarlierDeadlines() {
    while (true) {
      takeSignalledIfEarlier();
      long wait = deadlineMillis - Workflow.currentTimeMillis();
      if (wait <= 0) return;
      long sleepingToward = deadlineMillis;
      Workflow.setCurrentDetails(
          "sleeping until "
              + java.time.Instant.ofEpochMilli(sleepingToward)
              + ", then leave or extend");
      Promise<Void>[] timer = new Promise[1];
      CancellationScope scope =
          Workflow.newCancellationScope(
              () -> {
                timer[0] = Workflow.newTimer(Duration.ofMillis(wait));
              });
      scope.run();
      Workflow.await(() -> timer[0].isCompleted() || signalledMillis < sleepingToward);
      if (timer[0].isCompleted()) {
        takeSignalledIfEarlier(); // a signal for a past instant changes nothing now
        return;
      }
      scope.cancel();
    }
  }

  private void takeSignalledIfEarlier() {
    if (signalledMillis < deadlineMillis) deadlineMillis = signalledMillis;
    signalledMillis = Long.MAX_VALUE;
  }

  @Override
  public void deadlineMoved(long deadlineMillis) {
    if (deadlineMillis < signalledMillis) signalledMillis = deadlineMillis;
  }

  @Override
  public String deadline() {
    return Instant.ofEpochMilli(deadlineMillis).toString();
  }
}
