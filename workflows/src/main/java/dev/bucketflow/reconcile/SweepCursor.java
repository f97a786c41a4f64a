package dev.bucketflow.reconcile;

/**
 * Where a bucket's sweep stands: the phase, and the last key that phase finished (exclusive lower
 * bound of its next chunk). Phases run in the order of {@link Phase}; each walks its own keyset:
 * {@code afterId} for membership-id walks (maxDwell, re-arming), {@code after} for user-id walks
 * (clock leaves, absence joins); the dwell phase keeps its threshold index in {@code after} and
 * walks {@code afterId}.
 */
public record SweepCursor(Phase phase, String after, long afterId) {

  public enum Phase {
    MAX_DWELL,
    CLOCK_LEAVES,
    ABSENCE_JOINS,
    REARM,
    DWELL,
    DONE
  }

  public static SweepCursor start() {
    return at(Phase.MAX_DWELL);
  }

  /** The start of {@code phase}. */
  public static SweepCursor at(Phase phase) {
    return new SweepCursor(phase, "", 0);
  }

  public SweepCursor after(String key) {
    return new SweepCursor(phase, key, afterId);
  }

  public SweepCursor afterId(long id) {
    return new SweepCursor(phase, after, id);
  }

  public boolean done() {
    return phase == Phase.DONE;
  }
}
