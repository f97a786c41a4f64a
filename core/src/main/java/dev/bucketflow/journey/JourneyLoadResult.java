package dev.bucketflow.journey;

import dev.bucketflow.bucket.Problem;
import java.util.List;

/**
 * Outcome of parsing or loading journey definitions. {@code journeys} holds every definition that
 * could be built (one with a shape problem is left out); the worker must refuse to start unless
 * {@link #ok()}.
 */
public record JourneyLoadResult(List<JourneyDefinition> journeys, List<Problem> problems) {
  public JourneyLoadResult {
    journeys = List.copyOf(journeys);
    problems = List.copyOf(problems);
  }

  public boolean ok() {
    return problems.isEmpty();
  }
}
