package dev.bucketflow.membership;

import static dev.bucketflow.bucket.MembershipStatus.ACTIVE;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.CONTACTS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.NextFlip;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.criteria.CriteriaSql;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.impl.DSL;

/**
 * The set-based membership changes the reconcile sweep and backfill share: joining the matching
 * live contacts of a contact-key range, and compare-and-swap leaving of active rows, each writing
 * its {@link Transition}s through the {@link TransitionWriter}. The caller holds the contact locks
 * of the users concerned ({@link ContactLocks}) and restricts {@code contactRange} / {@code which}
 * to them.
 */
public final class BulkMemberships {

  /** Whether a join emits (journeys, user events), from the user's earlier rows in the bucket. */
  @FunctionalInterface
  public interface JoinEmission {
    boolean emits(int priorEntries, Instant lastLeftAt);

    /** Silent joins (backfill). The candidate query then does not read {@code last left_at}. */
    JoinEmission NEVER = (priorEntries, lastLeftAt) -> false;
  }

  private final UserStates states;
  private final TransitionWriter transitions;

  public BulkMemberships(UserStates states, TransitionWriter transitions) {
    this.states = states;
    this.transitions = transitions;
  }

  /**
   * Joins the live contacts in {@code contactRange} (a condition on {@code contacts.external_id})
   * that satisfy the criteria and have no active row: one multi-row insert {@code ON CONFLICT DO
   * NOTHING}, {@code entry_count = 1 + earlier rows}, {@code expires_at} and {@code max_dwell_at}
   * stamped. Returns the transitions written, one per row inserted.
   */
  public List<Transition> join(
      DSLContext tx,
      BucketDefinition bucket,
      Condition contactRange,
      Instant now,
      MembershipSource source,
      JoinEmission emission) {
    var m = BUCKET_MEMBERSHIPS;
    var c = CONTACTS;
    List<Field<?>> fields =
        new ArrayList<>(List.of(c.EXTERNAL_ID, c.EMAIL, priorEntries(bucket.id())));
    boolean readsLastLeft = emission != JoinEmission.NEVER;
    if (readsLastLeft) fields.add(lastLeftAt(bucket.id()));
    var joiners = tx.select(fields).from(c).where(joinable(bucket, contactRange, now)).fetch();
    if (joiners.isEmpty()) return List.of();
    Map<String, UserState> userStates =
        states.load(tx, joiners.getValues(c.EXTERNAL_ID), bucket, now);
    Instant maxDwellAt = bucket.maxDwell() == null ? null : now.plus(bucket.maxDwell());
    var insert =
        tx.insertInto(
            m,
            m.USER_ID,
            m.USER_EMAIL,
            m.BUCKET_ID,
            m.STATUS,
            m.ENTERED_AT,
            m.EXPIRES_AT,
            m.MAX_DWELL_AT,
            m.ENTRY_COUNT,
            m.SOURCE,
            m.LAST_EVALUATED_AT);
    Map<String, Boolean> emits = new HashMap<>();
    for (var j : joiners) {
      String user = j.get(c.EXTERNAL_ID);
      int prior = j.get("prior", Integer.class);
      Instant expiresAt =
          NextFlip.deadline(bucket.criteria(), userStates.get(user), now).orElse(null);
      insert =
          insert.values(
              user,
              j.get(c.EMAIL),
              bucket.id(),
              ACTIVE,
              now,
              expiresAt,
              maxDwellAt,
              prior + 1,
              source,
              now);
      emits.put(
          user, emission.emits(prior, readsLastLeft ? j.get("last_left", Instant.class) : null));
    }
    List<Transition> joined = new ArrayList<>();
    insert
        .onConflictDoNothing()
        .returningResult(m.USER_ID, m.ENTRY_COUNT)
        .forEach(
            r ->
                joined.add(
                    Transition.entered(
                        bucket, r.value1(), r.value2(), source, emits.get(r.value1()), now)));
    transitions.write(tx, joined);
    return joined;
  }

  /**
   * Compare-and-swap leave of the active rows matching {@code which}; one transition per row
   * changed. Returns how many left.
   */
  public int leave(
      DSLContext tx,
      BucketDefinition bucket,
      Condition which,
      Instant now,
      MembershipSource source,
      LeaveReason reason) {
    return leaveReturning(tx, bucket, which, now, source, reason).size();
  }

  /** {@link #leave}, returning the transitions written. */
  public List<Transition> leaveReturning(
      DSLContext tx,
      BucketDefinition bucket,
      Condition which,
      Instant now,
      MembershipSource source,
      LeaveReason reason) {
    return leaveReturning(tx, bucket, which, false, now, source, reason);
  }

  /**
   * {@link #leave}, returning the transitions written. With {@code readsContact}, {@code which}
   * also reads the {@code contacts} row of each membership ({@code UPDATE … FROM contacts}, joined
   * on the user): no IN subquery that joins the table being updated with itself.
   */
  public List<Transition> leaveReturning(
      DSLContext tx,
      BucketDefinition bucket,
      Condition which,
      boolean readsContact,
      Instant now,
      MembershipSource source,
      LeaveReason reason) {
    var m = BUCKET_MEMBERSHIPS;
    List<Transition> left = new ArrayList<>();
    var set =
        tx.update(m)
            .set(m.STATUS, MembershipStatus.LEFT)
            .set(m.LEFT_AT, now)
            .setNull(m.EXPIRES_AT)
            .set(m.LAST_EVALUATED_AT, now)
            .set(m.UPDATED_AT, now);
    Condition active = which.and(m.STATUS.eq(ACTIVE));
    (readsContact
            ? set.from(CONTACTS).where(active.and(CONTACTS.EXTERNAL_ID.eq(m.USER_ID)))
            : set.where(active))
        .returningResult(m.USER_ID, m.ENTRY_COUNT)
        .forEach(
            r -> left.add(Transition.left(bucket, r.value1(), r.value2(), source, reason, now)));
    transitions.write(tx, left);
    return left;
  }

  /**
   * Which contacts of {@code contactRange} may join: live, matching the criteria, and without an
   * active row. The query plan matters: not NOT EXISTS, and no status condition in the WHERE.
   * PostgreSQL would turn NOT EXISTS into an anti-join or hashed sub-plan over every active member
   * of the bucket, and a status='active' WHERE lets it probe through any partial index on bucket_id
   * (with a new bucket's statistics stale while it grows, it picked bucket_memberships_max_dwell
   * and filtered all members, per contact). Counting with FILTER leaves it only
   * bucket_memberships_history (user_id, bucket_id, ...): one probe per contact, O(chunk) whatever
   * the bucket's size.
   */
  public static Condition joinable(BucketDefinition bucket, Condition contactRange, Instant now) {
    var m = BUCKET_MEMBERSHIPS;
    var c = CONTACTS;
    Condition satisfied =
        CriteriaSql.predicate(bucket.criteria(), c.EXTERNAL_ID, c.PROPERTIES, now);
    return contactRange
        .and(c.DELETED_AT.isNull())
        .and(
            DSL.field(
                    DSL.select(
                            DSL.count().filterWhere(m.STATUS.eq(ACTIVE).and(m.DELETED_AT.isNull())))
                        .from(m)
                        .where(m.USER_ID.eq(c.EXTERNAL_ID).and(m.BUCKET_ID.eq(bucket.id()))))
                .eq(0))
        .and(satisfied);
  }

  /**
   * {@code entered_at + d} in SQL, to the millisecond (as {@code Instant.plus} in the engine and
   * the watch).
   */
  public static Field<Instant> enteredPlus(java.time.Duration d) {
    var m = BUCKET_MEMBERSHIPS;
    return DSL.field(
        "{0} + make_interval(secs => {1})",
        m.ENTERED_AT.getDataType(), m.ENTERED_AT, DSL.val(d.toMillis() / 1000.0));
  }

  /**
   * The set-based {@code minDwell} rule: of the active rows {@code failingIds} (members whose
   * criteria no longer hold), those still inside the bucket's {@code minDwell} cannot leave yet and
   * get {@code expires_at = entered_at + minDwell} (once), for the sweep or their watch to look
   * again. Returns them as watch deadlines (their fast-expiry watches may sleep later). The caller
   * leaves the others: {@code entered_at <= now - minDwell}. No {@code minDwell}: nothing to do.
   */
  public static List<MovedDeadline> deferInsideMinDwell(
      DSLContext tx,
      BucketDefinition bucket,
      org.jooq.Select<? extends org.jooq.Record1<Long>> failingIds,
      Instant now) {
    if (bucket.minDwell() == null) return List.of();
    var m = BUCKET_MEMBERSHIPS;
    Field<Instant> dwellEnds = enteredPlus(bucket.minDwell());
    return tx.update(m)
        .set(m.EXPIRES_AT, dwellEnds)
        .set(m.UPDATED_AT, now)
        .where(
            m.ID
                .in(failingIds)
                .and(m.STATUS.eq(ACTIVE))
                .and(m.ENTERED_AT.gt(now.minus(bucket.minDwell())))
                .and(m.EXPIRES_AT.isDistinctFrom(dwellEnds)))
        .returningResult(m.USER_ID, m.ENTRY_COUNT, m.EXPIRES_AT)
        .fetch()
        .map(r -> new MovedDeadline(bucket.id(), r.value1(), r.value2(), r.value3()));
  }

  /**
   * Rows of any status the contact ever had in the bucket (the next entry is this + 1), as "prior".
   */
  public static Field<Integer> priorEntries(String bucketId) {
    var m = BUCKET_MEMBERSHIPS;
    return DSL.field(
            DSL.select(DSL.count())
                .from(m)
                .where(m.USER_ID.eq(CONTACTS.EXTERNAL_ID).and(m.BUCKET_ID.eq(bucketId))))
        .as("prior");
  }

  /** The contact's latest {@code left_at} in the bucket, as "last_left". */
  private static Field<Instant> lastLeftAt(String bucketId) {
    var m = BUCKET_MEMBERSHIPS;
    return DSL.field(
            DSL.select(DSL.max(m.LEFT_AT))
                .from(m)
                .where(m.USER_ID.eq(CONTACTS.EXTERNAL_ID).and(m.BUCKET_ID.eq(bucketId))))
        .as("last_left");
  }
}
