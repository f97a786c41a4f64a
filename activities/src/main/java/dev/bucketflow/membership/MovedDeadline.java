package dev.bucketflow.membership;

import java.time.Instant;

/**
 * A fast-expiry member's watch deadline ({@code min(expires_at, max_dwell_at)}) that a writer moved
 * earlier (or gave to a row that had none): its watch must hear of it, after the commit.
 */
public record MovedDeadline(String bucketId, String userId, int entryCount, Instant deadline) {}
