package dev.bucketflow.dispatch;

import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.TransitionKind;
import java.time.Instant;
import java.util.Optional;

/** An undispatched {@code bucket_transitions} row; {@code reason} is present on leaves. */
public record OutboxRow(
    long id,
    String bucketId,
    String userId,
    TransitionKind kind,
    int epoch,
    MembershipSource source,
    boolean emitted,
    Instant createdAt,
    Optional<LeaveReason> reason) {

  public boolean entered() {
    return kind == TransitionKind.ENTERED;
  }
}
