package dev.bucketflow.bucket;

import com.fasterxml.jackson.annotation.JsonValue;

/** What a backfill job does (DESIGN §9); {@code bucket_backfill_jobs.kind}, stored lower case. */
public enum BackfillKind {
  /** A new bucket: insert every matching live contact, {@code source=backfill}, no join events. */
  FIRST_TIME,
  /**
   * Changed criteria: members that no longer match leave with emission; new matchers join silently.
   */
  REEVAL;

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

  public static BackfillKind fromDb(String value) {
    return JsonNames.parse(values(), value);
  }
}
