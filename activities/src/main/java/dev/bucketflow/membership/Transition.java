package dev.bucketflow.membership;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.TransitionKind;
import java.time.Instant;
import java.util.Optional;

/**
 * One recorded join or leave. {@code epoch} is the row's {@code entry_count}; {@code emitted} false
 * means the entryLimit gate suppressed the join's event (the row still exists); {@code reason} is
 * present exactly on leaves.
 */
public record Transition(
    String bucketId,
    String bucketName,
    String userId,
    TransitionKind kind,
    int epoch,
    MembershipSource source,
    boolean emitted,
    Instant at,
    Optional<LeaveReason> reason) {

  public static Transition entered(
      BucketDefinition bucket,
      String userId,
      int epoch,
      MembershipSource source,
      boolean emitted,
      Instant at) {
    return new Transition(
        bucket.id(),
        bucket.displayName(),
        userId,
        TransitionKind.ENTERED,
        epoch,
        source,
        emitted,
        at,
        Optional.empty());
  }

  /** Leaves always emit. */
  public static Transition left(
      BucketDefinition bucket,
      String userId,
      int epoch,
      MembershipSource source,
      LeaveReason reason,
      Instant at) {
    return new Transition(
        bucket.id(),
        bucket.displayName(),
        userId,
        TransitionKind.LEFT,
        epoch,
        source,
        true,
        at,
        Optional.of(reason));
  }

  /** The user event name, {@code bucket:entered:<id>} / {@code bucket:left:<id>}. */
  public String eventName() {
    return "bucket:" + kind.db() + ":" + bucketId;
  }

  /** Deterministic: {@code bucket:<id>:<userId>:<kind>:<entry_count>}. */
  public String idempotencyKey() {
    return "bucket:" + bucketId + ":" + userId + ":" + kind.db() + ":" + epoch;
  }
}
