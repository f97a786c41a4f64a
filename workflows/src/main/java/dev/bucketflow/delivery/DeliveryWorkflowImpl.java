package dev.bucketflow.delivery;

import dev.bucketflow.Liveness;
import io.temporal.activity.ActivityOptions;
import io.temporal.workflow.Workflow;
import java.time.Duration;

/**
 * Pass after pass: at once while a pass reports more, else until a wake-up, the earliest scheduled
 * retry, or the poll interval. A wake-up that arrives during a pass starts the next pass right
 * after it (the counter is read before the pass). Continues as new after {@link #PASSES_PER_RUN}
 * passes, or once wake-up signals have grown the history past {@link #MAX_HISTORY} events, so the
 * history stays short.
 */
public class DeliveryWorkflowImpl implements DeliveryWorkflow {

  static final int PASSES_PER_RUN = 200;

  /** Continue as new well before the server's history limits, however many wake-ups arrived. */
  static final long MAX_HISTORY = 5_000;

  /** A busy lease belongs to a deliverer that is finishing or gone: look again soon. */
  static final Duration BUSY_RETRY = Duration.ofSeconds(2);

  private final DeliveryActivities activities =
      Workflow.newActivityStub(
          DeliveryActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofMinutes(2))
              // A pass heartbeats per row: a killed worker's pass is retried elsewhere within
              // seconds.
              .setHeartbeatTimeout(Liveness.HEARTBEAT_TIMEOUT)
              .setRetryOptions(Liveness.retryForever())
              .build());

  private long wakes;

  @Override
  public void run(DeliveryRequest request) {
    for (int pass = 0; pass < PASSES_PER_RUN; pass++) {
      // Wake-ups are events too: under heavy ingest they, not passes, fill the history.
      if (Workflow.getInfo().getHistoryLength() > MAX_HISTORY
          || Workflow.getInfo().isContinueAsNewSuggested()) break;
      long seen = wakes;
      DeliveryPass result = activities.deliver(request.shard(), request.shards());
      Workflow.setCurrentDetails(
          "shard "
              + request.shard()
              + " · pass "
              + (pass + 1)
              + " of this run: delivered "
              + result.delivered()
              + ", failed "
              + result.failed()
              + ", parked "
              + result.parked()
              + (result.leaseBusy() ? " · another deliverer holds the lease" : ""));
      if (result.more()) continue;
      Duration wait = Duration.ofMillis(request.pollMillis());
      if (result.leaseBusy() && BUSY_RETRY.compareTo(wait) < 0) wait = BUSY_RETRY;
      if (result.nextDueAtMillis() > 0) {
        Duration due =
            Duration.ofMillis(Math.max(0, result.nextDueAtMillis() - Workflow.currentTimeMillis()));
        if (due.compareTo(wait) < 0) wait = due;
      }
      if (!wait.isZero()) Workflow.await(wait, () -> wakes != seen);
    }
    Workflow.continueAsNew(request);
  }

  @Override
  public void wake() {
    wakes++;
  }
}
