package dev.bucketflow.bucket;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * What the evaluator knows about one user's occurrences of one event: the all-time count, plus
 * every occurrence strictly after {@code horizon}. Loading only the times inside the widest window
 * (see {@link BucketRegistry#widestWindowByEvent}) keeps memory bounded for chatty users while
 * keeping windowed counts exact. Mutable: a batch applies its events one at a time.
 */
public final class EventSeries {
  private long allTimeCount;
  private final Instant horizon;

  /** Ascending; duplicates allowed (two events in the same instant both count). */
  private final List<Instant> times;

  /**
   * @param horizon times at or before it are only counted, not listed; {@code null} = every time is
   *     listed
   * @throws IllegalArgumentException if a listed time is not after the horizon, or the count is too
   *     small
   */
  public EventSeries(long allTimeCount, Instant horizon, List<Instant> timesAfterHorizon) {
    List<Instant> sorted = new ArrayList<>(timesAfterHorizon);
    Collections.sort(sorted);
    if (horizon != null && !sorted.isEmpty() && !sorted.get(0).isAfter(horizon)) {
      throw new IllegalArgumentException(
          "time " + sorted.get(0) + " is not after horizon " + horizon);
    }
    if (allTimeCount < sorted.size()) {
      throw new IllegalArgumentException(
          "allTimeCount " + allTimeCount + " is less than the " + sorted.size() + " listed times");
    }
    this.allTimeCount = allTimeCount;
    this.horizon = horizon;
    this.times = sorted;
  }

  /**
   * A bounded series: enough for every leg whose threshold is below {@code cap}, without listing
   * every occurrence of a chatty user's window. Invariant: the listed times are some of the
   * occurrences after the horizon, including the newest {@code min(cap, all of them)}; the all-time
   * count lies in {@code [min(allTimeCap, c), c]} for the true all-time count {@code c}. {@link
   * #add} keeps it (the new newest {@code cap} are among the old ones plus the added time; both
   * counts grow by one). Hence, for any {@code since} at or after the horizon, {@link #countSince}
   * lies in {@code [min(cap, c), c]} for the true count {@code c} after {@code since} (the listed
   * times after {@code since} include the newest {@code min(cap, c)} of them), and {@link
   * #nthNewest}{@code (k)} is exact for {@code k <= cap}. So every comparison of a count with a
   * value {@code n < cap} (any operator; {@code exists} and {@code not_exists} are {@code n = 0})
   * comes out as on the full series, and the n-th and (n+1)-th newest times NextFlip reads are the
   * true ones.
   *
   * @param allTimeAtLeast the true all-time count, or a lower bound as above (raised to the number
   *     of listed times)
   */
  public static EventSeries newest(long allTimeAtLeast, Instant horizon, List<Instant> newest) {
    return new EventSeries(Math.max(allTimeAtLeast, newest.size()), horizon, newest);
  }

  public static EventSeries empty() {
    return new EventSeries(0, null, List.of());
  }

  /** Every time listed: the series is exact for any window. */
  public static EventSeries of(List<Instant> times) {
    return new EventSeries(times.size(), null, times);
  }

  public EventSeries copy() {
    return new EventSeries(allTimeCount, horizon, times);
  }

  /** Records one occurrence. Times at or before the horizon only bump the all-time count. */
  public void add(Instant occurredAt) {
    allTimeCount++;
    if (horizon == null || occurredAt.isAfter(horizon)) {
      int i = Collections.binarySearch(times, occurredAt);
      // Insert after any equal instants (i >= 0) or at the insertion point (i < 0).
      int at = i >= 0 ? i + 1 : -i - 1;
      while (at < times.size() && times.get(at).equals(occurredAt)) {
        at++;
      }
      times.add(at, occurredAt);
    }
  }

  /**
   * Occurrences strictly after {@code sinceExclusive}; {@code null} = all time. Exact, except on a
   * bounded series ({@link #newest}), where it is exact up to that series' caps.
   *
   * @throws IllegalStateException if {@code sinceExclusive} is before the horizon: the caller
   *     loaded too short a history to answer exactly, which is a bug, not a "zero"
   */
  public long countSince(Instant sinceExclusive) {
    if (sinceExclusive == null) {
      return allTimeCount;
    }
    if (horizon != null && sinceExclusive.isBefore(horizon)) {
      throw new IllegalStateException(
          "asked for events after "
              + sinceExclusive
              + " but only times after "
              + horizon
              + " are loaded");
    }
    // First index whose time is > sinceExclusive.
    int lo = 0;
    int hi = times.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (times.get(mid).isAfter(sinceExclusive)) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return times.size() - lo;
  }

  /** The n-th newest listed time (1 = newest), if that many are listed. */
  public Optional<Instant> nthNewest(long n) {
    if (n < 1 || n > times.size()) {
      return Optional.empty();
    }
    return Optional.of(times.get(times.size() - (int) n));
  }

  public List<Instant> timesNewestFirst() {
    List<Instant> copy = new ArrayList<>(times);
    Collections.reverse(copy);
    return Collections.unmodifiableList(copy);
  }

  public long allTimeCount() {
    return allTimeCount;
  }

  /** {@code null} when every occurrence is listed. */
  public Instant horizon() {
    return horizon;
  }

  @Override
  public String toString() {
    return "EventSeries[allTime="
        + allTimeCount
        + ", horizon="
        + horizon
        + ", times="
        + times
        + "]";
  }
}
