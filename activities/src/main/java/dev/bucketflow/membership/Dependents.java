package dev.bucketflow.membership;

import static dev.bucketflow.bucket.MembershipStatus.ACTIVE;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.CONTACTS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.EntryGate;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.criteria.CriteriaSql;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/**
 * Bucket conditions on the set-based paths (reconcile, expiry, backfill, manual ops): after a
 * writer's transitions, in its transaction and under its contact locks, re-evaluates every bucket
 * depending on the changed buckets (directly or through others) for the users concerned, in
 * dependency order, so each sees its dependencies settled — a dependent joins and leaves in the
 * same transaction as its dependency. Ingest does the same in memory, event by event ({@link
 * MembershipEngine}).
 *
 * <p>A dependent still inside its {@code minDwell} is deferred (its {@code expires_at} set to when
 * the dwell ends, for the sweep or its watch to look again), as the sweep defers.
 */
public final class Dependents {

  private final BucketCatalog catalog;
  private final BulkMemberships bulk;

  public Dependents(BucketCatalog catalog, UserStates states, TransitionWriter transitions) {
    this.catalog = catalog;
    this.bulk = new BulkMemberships(states, transitions);
  }

  /**
   * The dependents' transitions (already written); empty when no bucket depends on the changed
   * ones.
   */
  public List<Transition> follow(
      DSLContext tx, Collection<Transition> written, Instant now, MembershipSource source) {
    if (written.isEmpty() || !catalog.registry().hasDependents()) return List.of();
    Set<String> changed = new LinkedHashSet<>();
    Set<String> users = new LinkedHashSet<>();
    written.forEach(
        t -> {
          changed.add(t.bucketId());
          users.add(t.userId());
        });
    List<Transition> out = new ArrayList<>();
    for (BucketDefinition d : catalog.registry().dependentsOf(changed)) {
      if (!catalog.isOn(d)) continue;
      // A backfill's consequences are as silent as the backfill, and its leaves re-evaluations.
      boolean backfill = source == MembershipSource.BACKFILL;
      out.addAll(
          leaveFailing(
              tx,
              d,
              users,
              now,
              source,
              backfill ? LeaveReason.REEVALUATION : LeaveReason.CRITERIA));
      out.addAll(
          bulk.join(
              tx,
              d,
              CONTACTS.EXTERNAL_ID.in(users),
              now,
              source,
              backfill
                  ? BulkMemberships.JoinEmission.NEVER
                  : (priorEntries, lastLeftAt) ->
                      EntryGate.emitsJoin(
                          d.entryLimit(), d.entryPeriod(), priorEntries, lastLeftAt, now)));
    }
    return out;
  }

  private List<Transition> leaveFailing(
      DSLContext tx,
      BucketDefinition d,
      Set<String> users,
      Instant now,
      MembershipSource source,
      LeaveReason reason) {
    var m = BUCKET_MEMBERSHIPS;
    var c = CONTACTS;
    Condition failing =
        DSL.not(CriteriaSql.predicate(d.criteria(), c.EXTERNAL_ID, c.PROPERTIES, now));
    var failingIds =
        DSL.select(m.ID)
            .from(m)
            .join(c)
            .on(c.EXTERNAL_ID.eq(m.USER_ID))
            .where(
                m.BUCKET_ID
                    .eq(d.id())
                    .and(m.USER_ID.in(users))
                    .and(m.STATUS.eq(ACTIVE))
                    .and(m.DELETED_AT.isNull()))
            .and(failing);
    Condition leavable = m.ID.in(failingIds);
    // As the sweep defers (their watches are not told: see README, known gaps).
    BulkMemberships.deferInsideMinDwell(tx, d, failingIds, now);
    if (d.minDwell() != null) leavable = leavable.and(m.ENTERED_AT.le(now.minus(d.minDwell())));
    return bulk.leaveReturning(tx, d, leavable, now, source, reason);
  }
}
