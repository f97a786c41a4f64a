package dev.bucketflow.bucket;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * What changed a membership; stored in {@code bucket_memberships.source} and {@code
 * bucket_transitions.source}.
 *
 * <p>Stored and serialised as the lower-case name ({@link #db()}); jOOQ maps the column to this
 * type, and Temporal payloads carry the same spelling, so histories written before the enum existed
 * still deserialise.
 */
public enum MembershipSource {
  EVENT,
  RECONCILE,
  BACKFILL,
  EXPIRY,
  MANUAL;

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
  public static MembershipSource fromDb(String value) {
    return JsonNames.parse(values(), value);
  }
}
