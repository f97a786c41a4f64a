package dev.bucketflow.dispatch;

import java.time.Instant;

/** An undispatched {@code bucket_transitions} row. */
public record OutboxRow(long id, String bucketId, String userId, String kind, int epoch, String source, boolean emitted,
    Instant createdAt) {

  public boolean entered() {
    return "entered".equals(kind);
  }
}
