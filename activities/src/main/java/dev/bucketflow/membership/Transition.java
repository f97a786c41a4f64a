package dev.bucketflow.membership;

import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.bucket.BucketDefinition;
import java.time.Instant;

/**
 * One recorded join or leave. {@code epoch} is the row's {@code entry_count}; {@code emitted}
 * false means the entryLimit gate suppressed the join's event (the row still exists).
 */
public record Transition(
    String bucketId, String bucketName, String userId, TransitionKind kind, int epoch, MembershipSource source, boolean emitted, Instant at) {

  public static Transition entered(BucketDefinition bucket, String userId, int epoch, MembershipSource source, boolean emitted, Instant at) {
    return new Transition(bucket.id(), bucket.displayName(), userId, TransitionKind.ENTERED, epoch, source, emitted, at);
  }

  /** Leaves always emit. */
  public static Transition left(BucketDefinition bucket, String userId, int epoch, MembershipSource source, Instant at) {
    return new Transition(bucket.id(), bucket.displayName(), userId, TransitionKind.LEFT, epoch, source, true, at);
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
