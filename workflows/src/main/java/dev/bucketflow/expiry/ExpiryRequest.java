package dev.bucketflow.expiry;

/**
 * One fast-expiry watch: the member's row is named by (bucket, user, entry_count); {@code
 * deadlineMillis} is the armed deadline the compare-and-swap is keyed on.
 */
public record ExpiryRequest(String bucketId, String userId, int entryCount, long deadlineMillis) {

  public ExpiryRequest rearmedAt(long newDeadlineMillis) {
    return new ExpiryRequest(bucketId, userId, entryCount, newDeadlineMillis);
  }
}
