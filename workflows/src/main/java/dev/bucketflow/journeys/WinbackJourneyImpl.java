package dev.bucketflow.journeys;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bucketflow.bucket.Durations;
import dev.bucketflow.journey.JourneyStatus;
import io.temporal.activity.ActivityOptions;
import io.temporal.activity.LocalActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.failure.ActivityFailure;
import io.temporal.workflow.Workflow;
import java.time.Duration;

public class WinbackJourneyImpl implements WinbackJourney {

  static final Duration DEFAULT_FOLLOW_UP = Duration.ofDays(3);

  private final JourneyActivities activities =
      Workflow.newActivityStub(
          JourneyActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofSeconds(30))
              .setRetryOptions(
                  RetryOptions.newBuilder().setMaximumInterval(Duration.ofMinutes(5)).build())
              .build());

  /**
   * The emails since {@link #LOCAL_EMAIL}: a local activity runs inside the workflow task that asks
   * for it, so an email costs a marker in the history instead of an activity task's scheduling,
   * poll, start and completion plus the workflow task that follows. Journeys are the bulk of the
   * Temporal work behind a burst of joins ({@code bench e2e}). The send stays idempotent on its
   * key, which is what a local activity needs: a workflow task that fails after the send re-runs
   * it.
   *
   * <p>Bounded to {@link #LOCAL_EMAIL_BUDGET} in all, retries included, so that it always ends
   * inside its workflow task, before the SDK refreshes a task that runs past 80 % of its 10 s
   * timeout: without sticky execution that refresh replays the workflow from the start and would
   * begin the send again, for ever, on a slow provider. A send that has not succeeded within the
   * budget goes to an activity task ({@link #activities}): the server retries it with backoff, and
   * the history does not grow meanwhile.
   */
  private final JourneyActivities localEmail =
      Workflow.newLocalActivityStub(
          JourneyActivities.class,
          LocalActivityOptions.newBuilder()
              .setScheduleToCloseTimeout(LOCAL_EMAIL_BUDGET)
              .setStartToCloseTimeout(LOCAL_EMAIL_BUDGET)
              .setRetryOptions(
                  RetryOptions.newBuilder()
                      .setInitialInterval(Duration.ofMillis(100))
                      .setMaximumInterval(Duration.ofSeconds(1))
                      .build())
              .build());

  /** A local email's whole budget (attempts and backoff); past it, an activity task sends. */
  public static final Duration LOCAL_EMAIL_BUDGET = Duration.ofSeconds(4);

  /**
   * getVersion change id of emails as local activities (runs started before send them as activity
   * tasks, as they were recorded).
   */
  static final String LOCAL_EMAIL = "local-email";

  private String exitReason;

  /** The {@code status} query's answer: {@code waiting} until the run ends, then how it ended. */
  private String status = "waiting";

  @Override
  public void run(JourneyInput input) {
    // The email key names the entry, not the run: a second run of the same entry (a trigger
    // delivered again after the first run finished) sends nothing twice. Runs recorded before
    // keep their run-id key.
    int keyVersion = Workflow.getVersion("email-key-per-entry", Workflow.DEFAULT_VERSION, 1);
    String key =
        Workflow.getInfo().getWorkflowId()
            + ":"
            + (keyVersion == Workflow.DEFAULT_VERSION
                ? Workflow.getInfo().getRunId()
                : "entry-" + input.entryCount());
    boolean local =
        Workflow.getVersion(LOCAL_EMAIL, Workflow.DEFAULT_VERSION, 1) != Workflow.DEFAULT_VERSION;
    if (exitReason == null) {
      sendEmail(
          local,
          new EmailRequest(
              input.journeyId(),
              input.userId(),
              text(input.settings(), "template", "winback"),
              key + ":first"));
      Duration followUp = followUpAfter(input.settings());
      Workflow.setCurrentDetails(
          "first email sent · follow-up at "
              + java.time.Instant.ofEpochMilli(Workflow.currentTimeMillis()).plus(followUp)
              + " unless the user exits");
      Workflow.await(followUp, () -> exitReason != null);
    }
    if (exitReason == null) {
      sendEmail(
          local,
          new EmailRequest(
              input.journeyId(),
              input.userId(),
              text(input.settings(), "followUpTemplate", "winback-follow-up"),
              key + ":follow-up"));
    }
    JourneyStatus ended = exitReason == null ? JourneyStatus.COMPLETED : JourneyStatus.EXITED;
    status = ended.db();
    activities.journeyEnded(
        new JourneyEnd(input.journeyId(), input.userId(), input.entryCount(), ended, exitReason));
  }

  /** As a local activity within its budget, else (and before the version) as an activity task. */
  private void sendEmail(boolean local, EmailRequest request) {
    if (local) {
      try {
        localEmail.sendEmail(request);
        return;
      } catch (ActivityFailure slowOrFailing) {
        // The failure is recorded in the local activity's marker: a replay takes this branch too.
      }
    }
    activities.sendEmail(request);
  }

  @Override
  public void exit(String reason) {
    if (exitReason == null) exitReason = reason == null ? "exit" : reason;
  }

  @Override
  public String status() {
    return status;
  }

  static Duration followUpAfter(JsonNode settings) {
    JsonNode node = settings == null ? null : settings.get("followUpAfter");
    if (node == null || node.isNull()) return DEFAULT_FOLLOW_UP;
    try {
      return Durations.parse(node);
    } catch (IllegalArgumentException e) {
      return DEFAULT_FOLLOW_UP;
    }
  }

  private static String text(JsonNode settings, String field, String fallback) {
    JsonNode node = settings == null ? null : settings.get(field);
    return node != null && node.isTextual() ? node.asText() : fallback;
  }
}
