package dev.bucketflow.bucket;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * {@code bucket_transitions.kind}; also the middle word of {@code bucket:entered:<id>} / {@code
 * bucket:left:<id>}.
 *
 * <p>Stored and serialised as the lower-case name ({@link #db()}); jOOQ maps the column to this
 * type, and Temporal payloads carry the same spelling, so histories written before the enum existed
 * still deserialise.
 */
public enum TransitionKind {
  ENTERED,
  LEFT;

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
  public static TransitionKind fromDb(String value) {
    return JsonNames.parse(values(), value);
  }
}
