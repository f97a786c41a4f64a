package dev.bucketflow.bucket;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * Why a member left (DESIGN §13): stored in {@code bucket_transitions.reason} of every {@code left}
 * row and carried as {@code "reason"} in the {@code bucket:left:<id>} event, the journey input and
 * the PostHog mirror's event.
 */
public enum LeaveReason {
  /** The criteria stopped matching (an event, a property change, or the clock). */
  CRITERIA,
  /** The bucket's {@code maxDwell} ran out while the criteria still matched. */
  MAX_DWELL,
  /** A manual leave (command, API, CSV import with {@code --remove}). */
  MANUAL,
  /**
   * The bucket's criteria changed and the member no longer matches them (backfill re-evaluation).
   */
  REEVALUATION;

  @JsonValue
  public String db() {
    return JsonNames.of(this);
  }

  @Override
  public String toString() {
    return db();
  }

  public static LeaveReason fromDb(String value) {
    return JsonNames.parse(values(), value);
  }
}
