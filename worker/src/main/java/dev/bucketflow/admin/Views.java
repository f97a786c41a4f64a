package dev.bucketflow.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.journey.JourneyStatus;
import java.time.Instant;
import java.util.List;

/** The JSON shapes of the admin API (README "Admin API"); field names are public contract. */
final class Views {

  private Views() {}

  /** Progress of a bucket's newest backfill job; {@code total} is an estimate while it runs. */
  record Backfill(
      BackfillKind kind,
      BackfillStatus status,
      long processed,
      Long total,
      long joined,
      long left,
      Instant startedAt,
      Instant finishedAt,
      String error) {}

  /**
   * One row of {@code GET /api/buckets}. {@code avgDwellSeconds}: mean length of finished stays,
   * null when none.
   */
  record BucketSummary(
      String id,
      String name,
      String kind,
      boolean enabled,
      boolean timeBased,
      boolean fastExpiry,
      long size,
      long entered,
      long left,
      Double avgDwellSeconds,
      Backfill backfill) {}

  record BucketList(List<BucketSummary> buckets) {}

  /** One membership row (a join and, once left, its leave). */
  record Member(
      String userId,
      MembershipStatus status,
      Instant enteredAt,
      Instant leftAt,
      Instant expiresAt,
      int entryCount,
      MembershipSource source,
      LeaveReason leaveReason) {}

  record MemberPage(List<Member> members, String next) {}

  /** One outbox row: a join or a leave. */
  /**
   * One outbox row; {@code parkedAt}/{@code lastError}: delivery gave up on it after {@code
   * attempts}.
   */
  record TransitionView(
      long id,
      String bucketId,
      String userId,
      TransitionKind kind,
      int epoch,
      MembershipSource source,
      boolean emitted,
      Instant createdAt,
      Instant dispatchedAt,
      int attempts,
      Instant parkedAt,
      String lastError) {}

  record JourneyRef(
      String id, String triggerEvent, List<String> exitOn, String workflowType, boolean enabled) {}

  record BucketDetail(
      BucketSummary bucket,
      JsonNode definition,
      List<JourneyRef> journeys,
      List<TransitionView> transitions) {}

  record TrendPoint(Instant at, long entered, long left, long size) {}

  record Trend(String interval, Instant from, Instant to, List<TrendPoint> points) {}

  record MembershipView(
      String bucketId,
      MembershipStatus status,
      Instant enteredAt,
      Instant leftAt,
      Instant expiresAt,
      int entryCount,
      MembershipSource source,
      LeaveReason leaveReason) {}

  record JourneyRun(
      String journeyId,
      JourneyStatus status,
      int entryCount,
      String workflowId,
      String triggerEvent,
      String exitReason,
      Instant startedAt,
      Instant endedAt) {}

  record Rejected(
      long id, String reason, String detail, String event, String payload, Instant receivedAt) {}

  record UserView(
      String userId,
      boolean exists,
      String email,
      boolean deleted,
      Instant deletedAt,
      Instant createdAt,
      Instant updatedAt,
      JsonNode properties,
      List<MembershipView> memberships,
      List<TransitionView> transitions,
      List<JourneyRun> journeys,
      List<Rejected> rejectedEvents) {}
}
