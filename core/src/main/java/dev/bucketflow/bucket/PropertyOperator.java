package dev.bucketflow.bucket;

import java.util.Optional;

/**
 * Operator of a property condition. JSON spelling is lower snake case. {@code in}/{@code not_in}
 * take an array; the date-relative four ({@link #dateRelative()}) take a duration and read the
 * property as an instant ({@link PropertyInstants}).
 */
public enum PropertyOperator {
  EQ,
  NEQ,
  GT,
  GTE,
  LT,
  LTE,
  EXISTS,
  NOT_EXISTS,
  CONTAINS,
  IN,
  NOT_IN,
  WITHIN_NEXT,
  WITHIN_LAST,
  MORE_THAN_AGO,
  MORE_THAN_AHEAD;

  /** Compares the property, read as an instant, with {@code now} ± the duration operand. */
  public boolean dateRelative() {
    return this == WITHIN_NEXT
        || this == WITHIN_LAST
        || this == MORE_THAN_AGO
        || this == MORE_THAN_AHEAD;
  }

  /**
   * A date-relative operator that can turn true by the clock alone (all but {@code
   * more_than_ahead}).
   */
  public boolean joinsByClock() {
    return this == WITHIN_NEXT || this == WITHIN_LAST || this == MORE_THAN_AGO;
  }

  /** The JSON spelling, e.g. {@code not_exists}. */
  public String json() {
    return JsonNames.of(this);
  }

  /**
   * Parses the exact JSON spelling; empty for anything else (callers turn that into a {@link
   * Problem}).
   */
  public static Optional<PropertyOperator> fromJson(String json) {
    return JsonNames.lookup(values(), json);
  }
}
