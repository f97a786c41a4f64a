package dev.bucketflow.journeys;

import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

@ActivityInterface
public interface JourneyActivities {

  /** Sends through the configured {@code EmailSender}; idempotent on the request's key. */
  @ActivityMethod(name = "SendJourneyEmail")
  void sendEmail(EmailRequest request);

  /**
   * Records the end of a run in {@code journey_states}; a repeat finds the row closed and does
   * nothing.
   */
  @ActivityMethod(name = "JourneyEnded")
  void journeyEnded(JourneyEnd end);
}
