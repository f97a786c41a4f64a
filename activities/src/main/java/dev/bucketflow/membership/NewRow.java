package dev.bucketflow.membership;

import java.time.Instant;

/**
 * A membership row created during one ingest batch, written with the batch's other new rows in one
 * statement at its end. A user who joins and leaves inside the batch gets a row inserted already
 * {@code left}; only a row still active at the end can meet a concurrent writer's active row
 * (partial unique index) and be dropped.
 */
final class NewRow {
  final long tempId;
  final String userId;
  final String email;
  final String bucketId;
  final Instant enteredAt;
  final int entryCount;
  final Instant maxDwellAt;
  Instant expiresAt;
  Instant leftAt;

  NewRow(
      long tempId,
      String userId,
      String email,
      String bucketId,
      Instant enteredAt,
      int entryCount,
      Instant expiresAt,
      Instant maxDwellAt) {
    this.tempId = tempId;
    this.userId = userId;
    this.email = email;
    this.bucketId = bucketId;
    this.enteredAt = enteredAt;
    this.entryCount = entryCount;
    this.expiresAt = expiresAt;
    this.maxDwellAt = maxDwellAt;
  }

  boolean active() {
    return leftAt == null;
  }
}
