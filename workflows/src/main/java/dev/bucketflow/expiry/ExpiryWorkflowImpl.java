package dev.bucketflow.expiry;

import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.time.Instant;

/** Sleeps until the deadline, asks to leave-or-extend, and sleeps again while the member qualifies. */
public class ExpiryWorkflowImpl implements ExpiryWorkflow {

  private final ExpiryActivities activities = Workflow.newActivityStub(ExpiryActivities.class,
      ActivityOptions.newBuilder()
          .setStartToCloseTimeout(Duration.ofSeconds(30))
          .setHeartbeatTimeout(dev.bucketflow.Liveness.HEARTBEAT_TIMEOUT)
          .setRetryOptions(RetryOptions.newBuilder().setMaximumInterval(Duration.ofMinutes(1)).build())
          .build());

  private long deadlineMillis;

  @Override
  public void run(ExpiryRequest request) {
    ExpiryRequest armed = request;
    deadlineMillis = armed.deadlineMillis();
    for (int rounds = 0; ; rounds++) {
      long wait = deadlineMillis - Workflow.currentTimeMillis();
      if (wait > 0) Workflow.sleep(Duration.ofMillis(wait));
      ExpiryCheck check = activities.leaveOrExtend(armed);
      if (check.status() != ExpiryCheck.Status.EXTENDED) return;
      deadlineMillis = check.nextDeadlineMillis();
      armed = armed.rearmedAt(deadlineMillis);
      if (rounds >= 500) Workflow.continueAsNew(armed);
    }
  }

  @Override
  public String deadline() {
    return Instant.ofEpochMilli(deadlineMillis).toString();
  }
}
