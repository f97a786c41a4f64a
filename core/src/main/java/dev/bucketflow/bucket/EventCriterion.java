package dev.bucketflow.bucket;

import java.time.Duration;
import java.util.Objects;

/**
 * A condition on the user's occurrences of one event, e.g. {@code key_action count >= 10 within
 * 30d}.
 *
 * <p>Consistency between {@code check}, {@code operator} and {@code value} is checked by {@link
 * BucketValidator} rather than here, so that the JSON parser can build the tree and report every
 * problem with its path instead of stopping at the first exception.
 *
 * @param operator only for {@code count}; {@code null} means "count > 0"
 * @param value the count threshold; required exactly when {@code operator} is set
 * @param within rolling window {@code occurredAt > now - within}; {@code null} means all time
 */
public record EventCriterion(
    String eventName, EventCheck check, CountOperator operator, Long value, Duration within)
    implements Criterion {

  public EventCriterion {
    Objects.requireNonNull(eventName, "eventName");
    Objects.requireNonNull(check, "check");
  }

  /** True when the leg looks at a rolling window rather than all time. */
  public boolean windowed() {
    return within != null;
  }
}
