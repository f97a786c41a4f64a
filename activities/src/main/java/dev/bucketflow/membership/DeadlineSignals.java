package dev.bucketflow.membership;

import java.util.Collection;

/**
 * Tells fast-expiry watches that their deadline moved earlier. Called by a writer only after the
 * transaction that wrote the deadline committed (no network call under row locks), best effort: a
 * notice that is lost only makes the leave late — the reconcile tick does it, and the watch's
 * leave-or-extend re-reads the row under its lock — never wrong. Never throws.
 */
@FunctionalInterface
public interface DeadlineSignals {

  DeadlineSignals NONE = moved -> {};

  void deadlinesMoved(Collection<MovedDeadline> moved);
}
