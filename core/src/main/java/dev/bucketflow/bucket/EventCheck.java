package dev.bucketflow.bucket;

import java.util.Optional;

/**
 * What an event condition checks about the user's occurrences of the event. JSON spelling is lower
 * snake case.
 */
public enum EventCheck {
  EXISTS,
  NOT_EXISTS,
  COUNT;

  /** The JSON spelling, e.g. {@code not_exists}. */
  public String json() {
    return JsonNames.of(this);
  }

  /**
   * Parses the exact JSON spelling; empty for anything else (callers turn that into a {@link
   * Problem}).
   */
  public static Optional<EventCheck> fromJson(String json) {
    return JsonNames.lookup(values(), json);
  }
}
