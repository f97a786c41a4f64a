package dev.bucketflow.membership;

import java.time.Instant;

/** The active row of a (user, bucket). */
public record ActiveMembership(
    long id,
    String userId,
    String bucketId,
    Instant enteredAt,
    int entryCount,
    Instant expiresAt,
    Instant maxDwellAt) {

  public ActiveMembership withExpiresAt(Instant newExpiresAt) {
    return new ActiveMembership(
        id, userId, bucketId, enteredAt, entryCount, newExpiresAt, maxDwellAt);
  }
}
