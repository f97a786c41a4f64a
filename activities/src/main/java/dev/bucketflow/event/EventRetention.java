package dev.bucketflow.event;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * How long raw events ({@code user_events} rows) are kept: {@code BUCKETFLOW_EVENT_RETENTION}
 * (ISO-8601 such as {@code P30D}, or seconds), never shorter than the widest finite window of the
 * worker's enabled buckets; unset, that window plus {@link #DEFAULT_MARGIN}. All-time facts are in
 * the rollup and outlive it; a finite window never reaches past it.
 *
 * @param configured the operator's value, if any
 * @param daysAhead day partitions kept created ahead of today (events may be dated up to the future
 *     skew ahead, and a worker that is down for a while must not find none)
 */
public record EventRetention(Optional<Duration> configured, int daysAhead) {

  public static final String ENV = "BUCKETFLOW_EVENT_RETENTION";

  /**
   * Slack beyond the widest window when none is configured: late events, a paused worker,
   * inspection.
   */
  public static final Duration DEFAULT_MARGIN = Duration.ofDays(7);

  public static final int DEFAULT_DAYS_AHEAD = 3;

  public EventRetention {
    java.util.Objects.requireNonNull(configured, "configured");
    configured.ifPresent(
        d -> {
          if (d.isNegative() || d.isZero())
            throw new IllegalArgumentException(ENV + ": must be positive, got " + d);
        });
    if (daysAhead < 1) throw new IllegalArgumentException("daysAhead: must be at least 1");
  }

  public static EventRetention defaults() {
    return new EventRetention(Optional.empty(), DEFAULT_DAYS_AHEAD);
  }

  public static EventRetention of(Duration keep) {
    return new EventRetention(Optional.of(keep), DEFAULT_DAYS_AHEAD);
  }

  public static EventRetention fromEnv(Map<String, String> env) {
    String raw = env.get(ENV);
    if (raw == null || raw.isBlank()) return defaults();
    String s = raw.trim();
    Duration d;
    try {
      d = dev.bucketflow.bucket.Durations.ofSetting(s);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(ENV + ": not a duration (P30D, PT48H or seconds): " + raw);
    }
    return new EventRetention(Optional.of(d), DEFAULT_DAYS_AHEAD);
  }

  /**
   * The retention in force given the widest finite window ({@code ZERO}: none) of the enabled
   * buckets.
   */
  public Duration effective(Duration widestWindow) {
    return configured
        .map(c -> c.compareTo(widestWindow) >= 0 ? c : widestWindow)
        .orElse(widestWindow.plus(DEFAULT_MARGIN));
  }

  /** True when the configured value had to be raised to the widest window (worth a warning). */
  public boolean raisedBy(Duration widestWindow) {
    return configured.isPresent() && configured.get().compareTo(widestWindow) < 0;
  }
}
