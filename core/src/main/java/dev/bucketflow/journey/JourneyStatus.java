package dev.bucketflow.journey;

import com.fasterxml.jackson.annotation.JsonValue;
import dev.bucketflow.bucket.JsonNames;

/**
 * {@code journey_states.status}, and what a journey run ends as.
 *
 * <p>Stored and serialised as the lower-case name ({@link #db()}); jOOQ maps the column to this
 * type, and Temporal payloads carry the same spelling, so histories written before the enum existed
 * still deserialise.
 */
public enum JourneyStatus {
  RUNNING,
  COMPLETED,
  EXITED,
  FAILED;

  @JsonValue
  public String db() {
    return JsonNames.of(this);
  }

  /**
   * The stored spelling, so that string building (event names, keys, logs) can never leak {@code
   * name()}.
   */
  @Override
  public String toString() {
    return db();
  }

  /** The exact stored spelling; anything else is a schema violation, so it throws. */
  public static JourneyStatus fromDb(String value) {
    return JsonNames.parse(values(), value);
  }
}
