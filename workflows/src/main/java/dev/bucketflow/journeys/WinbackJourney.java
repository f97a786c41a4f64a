package dev.bucketflow.journeys;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * The example journey: an email, a wait of {@code settings.followUpAfter} (default 3 days), a
 * follow-up unless told to {@code exit}. Any journey definition may bind this type.
 */
@WorkflowInterface
public interface WinbackJourney {

  String TYPE = "WinbackJourney";

  @WorkflowMethod(name = TYPE)
  void run(JourneyInput input);

  /** The exit signal every journey understands, in any SDK: {@code exit(reason)}. */
  @SignalMethod(name = "exit")
  void exit(String reason);

  /** {@code waiting}, {@code completed} or {@code exited}. */
  @QueryMethod(name = "status")
  String status();
}
