package dev.bucketflow.bucket;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * {@code bucket_backfill_jobs.status}.
 *
 * <p>Stored and serialised as the lower-case name ({@link #db()}); jOOQ maps the column to this
 * type, and Temporal payloads carry the same spelling, so histories written before the enum existed
 * still deserialise.
 */
public enum BackfillStatus {
  RUNNING,
  COMPLETED,
  FAILED,
  /**
   * Only in a backfill workflow's progress answer before it has read its job row; never stored (the
   * CHECK refuses it).
   */
  OPENING;

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
  public static BackfillStatus fromDb(String value) {
    return JsonNames.parse(values(), value);
  }
}
