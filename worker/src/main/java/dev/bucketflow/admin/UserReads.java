package dev.bucketflow.admin;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.JOURNEY_STATES;
import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;

import dev.bucketflow.admin.Views.JourneyRun;
import dev.bucketflow.admin.Views.MembershipView;
import dev.bucketflow.admin.Views.Rejected;
import dev.bucketflow.admin.Views.TransitionView;
import dev.bucketflow.admin.Views.UserView;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.db.Json;
import java.util.List;

/**
 * {@code GET /api/users/{userId}}: everything stored about one user, newest first, each list capped
 * ({@link #CAP} rows): contact (properties, email, deleted flag), memberships active and past
 * (deleted contacts' rows included, they are history), transitions, journey runs and rejected
 * events. 404 when nothing at all is stored for the id.
 */
final class UserReads {

  static final int CAP = 200;

  private final AdminContext ctx;

  UserReads(AdminContext ctx) {
    this.ctx = ctx;
  }

  UserView user(String userId) {
    var dsl = ctx.dsl();
    var c = dsl.selectFrom(CONTACTS).where(CONTACTS.EXTERNAL_ID.eq(userId)).fetchOne();
    var m = BUCKET_MEMBERSHIPS;
    var leave = BUCKET_TRANSITIONS.as("leave");
    List<MembershipView> memberships =
        dsl.select(
                m.BUCKET_ID,
                m.STATUS,
                m.ENTERED_AT,
                m.LEFT_AT,
                m.EXPIRES_AT,
                m.MAX_DWELL_AT,
                m.ENTRY_COUNT,
                m.SOURCE,
                leave.REASON)
            .from(m)
            .leftJoin(leave)
            .on(
                leave
                    .BUCKET_ID
                    .eq(m.BUCKET_ID)
                    .and(leave.USER_ID.eq(m.USER_ID))
                    .and(leave.KIND.eq(TransitionKind.LEFT))
                    .and(leave.EPOCH.eq(m.ENTRY_COUNT)))
            .where(m.USER_ID.eq(userId))
            .orderBy(m.ENTERED_AT.desc(), m.ID.desc())
            .limit(CAP)
            .fetch(
                r ->
                    new MembershipView(
                        r.get(m.BUCKET_ID),
                        r.get(m.STATUS),
                        r.get(m.ENTERED_AT),
                        r.get(m.LEFT_AT),
                        r.get(m.EXPIRES_AT),
                        r.get(m.ENTRY_COUNT),
                        r.get(m.SOURCE),
                        r.get(leave.REASON)));
    var t = BUCKET_TRANSITIONS;
    List<TransitionView> transitions =
        dsl.selectFrom(t)
            .where(t.USER_ID.eq(userId))
            .orderBy(t.ID.desc())
            .limit(CAP)
            .fetch(
                r ->
                    new TransitionView(
                        r.getId(),
                        r.getBucketId(),
                        r.getUserId(),
                        r.getKind(),
                        r.getEpoch(),
                        r.getSource(),
                        r.getEmitted(),
                        r.getCreatedAt(),
                        r.getDispatchedAt(),
                        r.getAttempts(),
                        r.getParkedAt(),
                        r.getLastError()));
    var j = JOURNEY_STATES;
    List<JourneyRun> journeys =
        dsl.selectFrom(j)
            .where(j.USER_ID.eq(userId))
            .orderBy(j.ID.desc())
            .limit(CAP)
            .fetch(
                r ->
                    new JourneyRun(
                        r.getJourneyId(),
                        r.getStatus(),
                        r.getEntryCount(),
                        r.getWorkflowId(),
                        r.getTriggerEvent(),
                        r.getExitReason(),
                        r.getStartedAt(),
                        r.getEndedAt()));
    var x = REJECTED_EVENTS;
    List<Rejected> rejected =
        dsl.selectFrom(x)
            .where(x.USER_ID.eq(userId))
            .orderBy(x.ID.desc())
            .limit(CAP)
            .fetch(
                r ->
                    new Rejected(
                        r.getId(),
                        r.getReason(),
                        r.getDetail(),
                        r.getEvent(),
                        r.getPayload(),
                        r.getReceivedAt()));
    if (c == null
        && memberships.isEmpty()
        && transitions.isEmpty()
        && journeys.isEmpty()
        && rejected.isEmpty()) {
      throw ApiError.notFound(
          "unknown_user", "userId " + ApiError.quote(userId) + ": nothing is stored for this user");
    }
    return new UserView(
        userId,
        c != null,
        c == null ? null : c.getEmail(),
        c != null && c.getDeletedAt() != null,
        c == null ? null : c.getDeletedAt(),
        c == null ? null : c.getCreatedAt(),
        c == null ? null : c.getUpdatedAt(),
        c == null ? Json.MAPPER.createObjectNode() : Json.object(c.getProperties()),
        memberships,
        transitions,
        journeys,
        rejected);
  }
}
