package dev.bucketflow.admin;

import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.MembershipStatus;
import java.time.Instant;

/**
 * The leave reason shown for a left membership (DESIGN §13 names {@code criteria}, {@code max_dwell},
 * {@code manual}, {@code reevaluation}), derived from the source of its {@code left} outbox row:
 * {@code manual} → manual, {@code backfill} → reevaluation, a leave at or after the row's
 * {@code max_dwell_at} → max_dwell, any other → criteria. Null for active rows and for left rows
 * without an outbox row (contact deletion emits none).
 */
final class LeaveReasons {

  private LeaveReasons() {}

  static String of(MembershipStatus status, MembershipSource leaveSource, Instant leftAt, Instant maxDwellAt) {
    if (status != MembershipStatus.LEFT || leaveSource == null) return null;
    return switch (leaveSource) {
      case MANUAL -> "manual";
      case BACKFILL -> "reevaluation";
      default -> maxDwellAt != null && leftAt != null && !leftAt.isBefore(maxDwellAt) ? "max_dwell" : "criteria";
    };
  }
}
