package dev.bucketflow.membership;

import java.time.Instant;

/**
 * A fast-expiry watch deadline a writer moved earlier (or created): a member's {@code
 * min(expires_at, max_dwell_at)} for its epoch, or a non-member's clock join instant for the epoch
 * a join would open. The watch of that epoch must hear of it, after the commit.
 */
public record MovedDeadline(String bucketId, String userId, int entryCount, Instant deadline) {}
