package dev.bucketflow.bucket;

import java.time.Instant;
import java.util.Optional;

/**
 * Deadline math for {@code expires_at} and fast-expiry timers (DESIGN §7, §8): assuming a
 * criterion is true at {@code now}, the exact instant it turns false by the clock alone (no new
 * events, no property changes), or empty when the clock alone never falsifies it.
 *
 * <p>A windowed leg that needs at least {@code k} occurrences turns false when its k-th newest
 * occurrence {@code t} leaves the window, i.e. at {@code t + within}: the window is
 * {@code occurredAt > instant - within}, so at that instant {@code t} is excluded. Hence
 * {@code exists} / count without operator ({@code k = 1}), {@code count gte N} ({@code k = N}),
 * {@code count gt N} ({@code k = N + 1}) and {@code count eq N} ({@code k = N}: the count drops to
 * N-1). Legs that decay only makes truer ({@code lt}, {@code lte}, {@code eq 0}, {@code not_exists})
 * and legs without a window never flip; neither do property legs.
 *
 * <p>AND: the earliest deadline of its legs (all are true). OR: among the legs true now, empty
 * if any of them never flips, else the latest deadline. The OR rule is <em>conservative</em>: a
 * false leg may turn true by the clock before the deadline (e.g. a windowed {@code not_exists}),
 * keeping the OR true longer. Callers re-evaluate at the deadline and, if still satisfied, extend
 * it — they never leave early by trusting this value blindly.
 *
 * <p>If the criterion is not actually true at {@code now}, the result is meaningless (usually empty).
 */
public final class NextFlip {
    private NextFlip() {}

    public static Optional<Instant> deadline(Criterion criterion, UserState state, Instant now) {
        if (criterion instanceof PropertyCriterion) {
            return Optional.empty();
        }
        if (criterion instanceof EventCriterion e) {
            return eventDeadline(e, state, now);
        }
        CompositeCriterion c = (CompositeCriterion) criterion;
        if (c.operator() == Logic.AND) {
            return c.conditions().stream()
                    .map(child -> deadline(child, state, now))
                    .flatMap(Optional::stream)
                    .min(Instant::compareTo);
        }
        Instant latest = null;
        for (Criterion child : c.conditions()) {
            if (!Evaluator.matches(child, state, now)) {
                continue;
            }
            Optional<Instant> d = deadline(child, state, now);
            if (d.isEmpty()) {
                return Optional.empty(); // this branch alone keeps the OR true forever
            }
            if (latest == null || d.get().isAfter(latest)) {
                latest = d.get();
            }
        }
        return Optional.ofNullable(latest);
    }

    private static Optional<Instant> eventDeadline(EventCriterion e, UserState state, Instant now) {
        if (e.within() == null) {
            return Optional.empty();
        }
        long k = requiredOccurrences(e);
        if (k <= 0) {
            return Optional.empty();
        }
        EventSeries series = state.events(e.eventName());
        // Asking for the windowed count first enforces the horizon contract: the k-th newest
        // time is only trustworthy when the whole window is loaded.
        long inWindow = series.countSince(now.minus(e.within()));
        if (inWindow < k) {
            return Optional.empty(); // not currently true
        }
        return series.nthNewest(k).map(t -> t.plus(e.within()));
    }

    /** The k such that the leg holds only while the window has at least k occurrences; 0 = decay never falsifies. */
    private static long requiredOccurrences(EventCriterion e) {
        return switch (e.check()) {
            case EXISTS -> 1;
            case NOT_EXISTS -> 0;
            case COUNT -> {
                if (e.operator() == null) {
                    yield 1;
                }
                long n = e.value() == null ? 0 : e.value();
                yield switch (e.operator()) {
                    case GT -> n + 1;
                    case GTE, EQ -> n;
                    case LT, LTE -> 0;
                };
            }
        };
    }
}
