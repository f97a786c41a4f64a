package dev.bucketflow.dispatch;

import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.TransitionKind;
import java.time.Instant;

/** An undispatched {@code bucket_transitions} row. */
public record OutboxRow(long id, String bucketId, String userId, TransitionKind kind, int epoch, MembershipSource source,
    boolean emitted, Instant createdAt) {

  public boolean entered() {
    return kind == TransitionKind.ENTERED;
  }
}
