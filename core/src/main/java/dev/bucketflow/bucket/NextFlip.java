package dev.bucketflow.bucket;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Deadline math for {@code expires_at}, fast-expiry timers and join watches (DESIGN §7, §8): the
 * exact instant after {@code now} at which a criterion's verdict next flips by the clock alone (no
 * new events, no property changes), in either direction, or empty when the clock alone never flips
 * it. The verdict is constant on {@code [now, flip)} and differs at {@code flip}.
 *
 * <p>Method: as a function of the instant {@code x}, every leaf's verdict is piecewise constant and
 * changes only at a few <em>critical instants</em>, each the start of a new constant piece:
 *
 * <ul>
 *   <li>A windowed event leg counts occurrences {@code o > x − within}; an occurrence drops out at
 *       {@code o + within}. The count is non-increasing in {@code x}, so a leg comparing it with
 *       {@code n} changes only when the n-th or (n+1)-th newest occurrence drops out ({@code
 *       exists}, {@code not_exists} and a count without operator compare with 0: the newest). Legs
 *       without a window never change.
 *   <li>A date-relative property with instant {@code t} and duration {@code d}: {@code within_next}
 *       is true on {@code [t − d, t]}, so it changes at {@code t − d} and {@code t + 1 ns}; {@code
 *       within_last} on {@code [t, t + d]}: {@code t} and {@code t + d + 1 ns}; {@code
 *       more_than_ago} on {@code (t + d, ∞)}: {@code t + d + 1 ns}; {@code more_than_ahead} on
 *       {@code (−∞, t − d)}: {@code t − d}. Other property legs never change.
 * </ul>
 *
 * The whole tree (AND, OR, nested) is then constant between consecutive critical instants of its
 * leaves, so the first critical instant after {@code now} at which {@link Evaluator#matches}
 * differs from its value at {@code now} is the flip — exact through any composition, including an
 * OR whose false leg turns true before its true leg turns false. At most two instants per leaf.
 *
 * <p>Event series must hold the times of the window at {@code now} (the loaders' horizon contract);
 * every instant evaluated is later, so its window is inside what was loaded.
 */
public final class NextFlip {
  private static final Duration NANO = Duration.ofNanos(1);

  private NextFlip() {}

  /** The next instant the verdict flips, whichever way. */
  public static Optional<Instant> next(Criterion criterion, UserState state, Instant now) {
    boolean current = Evaluator.matches(criterion, state, now);
    TreeSet<Instant> critical = new TreeSet<>();
    collect(criterion, state, now, critical);
    for (Instant x : critical) {
      if (Evaluator.matches(criterion, state, x) != current) {
        return Optional.of(x);
      }
    }
    return Optional.empty();
  }

  /**
   * For a criterion true at {@code now}: when it turns false by the clock (the member's {@code
   * expires_at}). Empty when it never does, or when it is not true now.
   */
  public static Optional<Instant> deadline(Criterion criterion, UserState state, Instant now) {
    return Evaluator.matches(criterion, state, now)
        ? next(criterion, state, now)
        : Optional.empty();
  }

  /**
   * For a criterion false at {@code now}: when it turns true by the clock (a non-member's join
   * instant, e.g. {@code within_next 3d} of a trial ending in 5 days: in 2 days). Empty when it
   * never does, or when it is true now.
   */
  public static Optional<Instant> joinInstant(Criterion criterion, UserState state, Instant now) {
    return Evaluator.matches(criterion, state, now)
        ? Optional.empty()
        : next(criterion, state, now);
  }

  /** Adds the leaves' critical instants after {@code now}. */
  private static void collect(
      Criterion criterion, UserState state, Instant now, TreeSet<Instant> out) {
    if (criterion instanceof PropertyCriterion p) {
      propertyInstants(p, state, now, out);
    } else if (criterion instanceof EventCriterion e) {
      eventInstants(e, state, now, out);
    } else {
      criterion.children().forEach(child -> collect(child, state, now, out));
    }
  }

  private static void propertyInstants(
      PropertyCriterion p, UserState state, Instant now, TreeSet<Instant> out) {
    if (!p.operator().dateRelative()) {
      return;
    }
    Optional<Duration> d = p.duration();
    Optional<Instant> t = PropertyInstants.read(state.property(p.property()));
    if (d.isEmpty() || t.isEmpty()) {
      return;
    }
    Instant at = t.get();
    Duration dd = d.get();
    switch (p.operator()) {
      case WITHIN_NEXT -> {
        after(now, at.minus(dd), out);
        after(now, at.plus(NANO), out);
      }
      case WITHIN_LAST -> {
        after(now, at, out);
        after(now, at.plus(dd).plus(NANO), out);
      }
      case MORE_THAN_AGO -> after(now, at.plus(dd).plus(NANO), out);
      case MORE_THAN_AHEAD -> after(now, at.minus(dd), out);
      default -> {}
    }
  }

  private static void eventInstants(
      EventCriterion e, UserState state, Instant now, TreeSet<Instant> out) {
    if (e.within() == null) {
      return;
    }
    EventSeries series = state.events(e.eventName());
    // Asking for the windowed count first enforces the horizon contract: the k-th newest
    // time is only trustworthy when the whole window is loaded.
    series.countSince(now.minus(e.within()));
    long n =
        e.check() == EventCheck.COUNT && e.operator() != null && e.value() != null ? e.value() : 0;
    for (long k : new long[] {n, n + 1}) {
      if (k >= 1) {
        series.nthNewest(k).ifPresent(t -> after(now, t.plus(e.within()), out));
      }
    }
  }

  private static void after(Instant now, Instant x, TreeSet<Instant> out) {
    if (x.isAfter(now)) {
      out.add(x);
    }
  }
}
