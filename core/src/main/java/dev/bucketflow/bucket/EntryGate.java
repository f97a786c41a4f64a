package dev.bucketflow.bucket;

import java.time.Duration;
import java.time.Instant;

/**
 * Whether a join emits its transition (DESIGN §7). The gate never blocks the membership row: a
 * suppressed join still inserts the active row and advances {@code entry_count}.
 */
public final class EntryGate {
  private EntryGate() {}

  /**
   * @param priorEntries membership rows the user had for this bucket before this join
   * @param lastLeftAt the latest {@code left_at} of those rows, null if none
   */
  public static boolean emitsJoin(
      EntryLimit limit, Duration entryPeriod, int priorEntries, Instant lastLeftAt, Instant now) {
    return switch (limit == null ? EntryLimit.UNLIMITED : limit) {
      case UNLIMITED -> true;
      case ONCE -> priorEntries == 0;
      // Suppressed only while the last leave is younger than the period; at exactly
      // lastLeftAt + period the user may be greeted again.
      case ONCE_PER_PERIOD ->
          entryPeriod == null || lastLeftAt == null || !lastLeftAt.plus(entryPeriod).isAfter(now);
    };
  }
}
