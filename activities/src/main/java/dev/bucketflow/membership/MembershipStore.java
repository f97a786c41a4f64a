package dev.bucketflow.membership;

import dev.bucketflow.bucket.MembershipStatus;
import static dev.bucketflow.bucket.MembershipStatus.ACTIVE;
import dev.bucketflow.bucket.MembershipSource;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;

import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jooq.DSLContext;
import org.jooq.Record3;
import org.jooq.impl.DSL;

/**
 * {@code bucket_memberships}. Joins insert a fresh row guarded by the partial unique index;
 * leaves are compare-and-swap updates. Only a statement that returned a row may record a
 * transition, so concurrent writers never double-emit.
 */
public final class MembershipStore {

  /** Active rows of these users in these buckets. */
  public Map<MembershipKey, ActiveMembership> activeOf(DSLContext tx, Collection<String> users, Collection<String> buckets) {
    Map<MembershipKey, ActiveMembership> out = new HashMap<>();
    if (users.isEmpty() || buckets.isEmpty()) return out;
    var m = BUCKET_MEMBERSHIPS;
    tx.select(m.ID, m.USER_ID, m.BUCKET_ID, m.ENTERED_AT, m.ENTRY_COUNT, m.EXPIRES_AT, m.MAX_DWELL_AT)
        .from(m)
        .where(m.USER_ID.in(users).and(m.BUCKET_ID.in(buckets)).and(m.STATUS.eq(ACTIVE)).and(m.DELETED_AT.isNull()))
        .forEach(r -> out.put(new MembershipKey(r.get(m.USER_ID), r.get(m.BUCKET_ID)),
            new ActiveMembership(r.get(m.ID), r.get(m.USER_ID), r.get(m.BUCKET_ID), r.get(m.ENTERED_AT),
                r.get(m.ENTRY_COUNT), r.get(m.EXPIRES_AT), r.get(m.MAX_DWELL_AT))));
    return out;
  }

  /** Entries so far (= highest epoch) and the latest leave, per (user, bucket). */
  public Map<MembershipKey, MembershipHistory> historyOf(DSLContext tx, Collection<String> users, Collection<String> buckets) {
    Map<MembershipKey, MembershipHistory> out = new HashMap<>();
    if (users.isEmpty() || buckets.isEmpty()) return out;
    var m = BUCKET_MEMBERSHIPS;
    for (Record3<String, String, Integer> r : tx.select(m.USER_ID, m.BUCKET_ID, DSL.max(m.ENTRY_COUNT))
        .from(m).where(m.USER_ID.in(users).and(m.BUCKET_ID.in(buckets)))
        .groupBy(m.USER_ID, m.BUCKET_ID).fetch()) {
      out.put(new MembershipKey(r.value1(), r.value2()), new MembershipHistory(r.value3(), null));
    }
    tx.select(m.USER_ID, m.BUCKET_ID, DSL.max(m.LEFT_AT))
        .from(m).where(m.USER_ID.in(users).and(m.BUCKET_ID.in(buckets)).and(m.LEFT_AT.isNotNull()))
        .groupBy(m.USER_ID, m.BUCKET_ID)
        .forEach(r -> out.computeIfPresent(new MembershipKey(r.value1(), r.value2()),
            (k, h) -> new MembershipHistory(h.entries(), r.value3())));
    return out;
  }

  /**
   * Inserts a fresh active row unless one exists ({@code ON CONFLICT DO NOTHING} on the partial
   * unique index). Empty when another writer holds the active row: then nothing is recorded.
   */
  public Optional<ActiveMembership> join(DSLContext tx, String userId, String email, String bucketId,
      Instant at, int entryCount, Instant expiresAt, Instant maxDwellAt, MembershipSource source) {
    var m = BUCKET_MEMBERSHIPS;
    return tx.insertInto(m, m.USER_ID, m.USER_EMAIL, m.BUCKET_ID, m.STATUS, m.ENTERED_AT, m.EXPIRES_AT,
            m.MAX_DWELL_AT, m.ENTRY_COUNT, m.SOURCE, m.LAST_EVALUATED_AT)
        .values(userId, email, bucketId, ACTIVE, at, expiresAt, maxDwellAt, entryCount, source, at)
        .onConflictDoNothing()
        .returningResult(m.ID)
        .fetchOptional(m.ID)
        .map(id -> new ActiveMembership(id, userId, bucketId, at, entryCount, expiresAt, maxDwellAt));
  }

  /** Compare-and-swap leave (a left row keeps no deadline); the epoch when this call made the change, empty otherwise. */
  public Optional<Integer> leaveIfActive(DSLContext tx, long membershipId, Instant at) {
    var m = BUCKET_MEMBERSHIPS;
    return tx.update(m)
        .set(m.STATUS, MembershipStatus.LEFT).set(m.LEFT_AT, at).setNull(m.EXPIRES_AT).set(m.LAST_EVALUATED_AT, at).set(m.UPDATED_AT, at)
        .where(m.ID.eq(membershipId).and(m.STATUS.eq(ACTIVE)))
        .returningResult(m.ENTRY_COUNT)
        .fetchOptional(m.ENTRY_COUNT);
  }

  /** Compare-and-swap leave of many rows in one statement; the ids this call changed. */
  Set<Long> leaveAllIfActive(DSLContext tx, Collection<Long> ids, Instant at) {
    if (ids.isEmpty()) return Set.of();
    var m = BUCKET_MEMBERSHIPS;
    return new HashSet<>(tx.update(m)
        .set(m.STATUS, MembershipStatus.LEFT).set(m.LEFT_AT, at).setNull(m.EXPIRES_AT).set(m.LAST_EVALUATED_AT, at).set(m.UPDATED_AT, at)
        .where(m.ID.in(ids).and(m.STATUS.eq(ACTIVE)))
        .returningResult(m.ID)
        .fetch(m.ID));
  }

  /**
   * Inserts a batch's new rows in one statement ({@code ON CONFLICT DO NOTHING}); returns the
   * temp ids of the rows inserted — an active row that met another writer's active row is not.
   */
  Set<Long> insertAll(DSLContext tx, List<NewRow> rows, MembershipSource source) {
    if (rows.isEmpty()) return Set.of();
    var m = BUCKET_MEMBERSHIPS;
    var insert = tx.insertInto(m, m.USER_ID, m.USER_EMAIL, m.BUCKET_ID, m.STATUS, m.ENTERED_AT, m.LEFT_AT, m.EXPIRES_AT,
        m.MAX_DWELL_AT, m.ENTRY_COUNT, m.SOURCE, m.LAST_EVALUATED_AT);
    record Epoch(String userId, String bucketId, int entryCount) {}
    Map<Epoch, Long> byKey = new HashMap<>();
    for (NewRow r : rows) {
      insert = insert.values(r.userId, r.email, r.bucketId, r.active() ? ACTIVE : MembershipStatus.LEFT, r.enteredAt, r.leftAt,
          r.active() ? r.expiresAt : null, r.maxDwellAt, r.entryCount, source, r.active() ? r.enteredAt : r.leftAt);
      byKey.put(new Epoch(r.userId, r.bucketId, r.entryCount), r.tempId);
    }
    Set<Long> inserted = new HashSet<>();
    insert.onConflictDoNothing().returningResult(m.USER_ID, m.BUCKET_ID, m.ENTRY_COUNT)
        .forEach(r -> inserted.add(byKey.get(new Epoch(r.value1(), r.value2(), r.value3()))));
    return inserted;
  }

  /** Re-stamps deadlines of still-active rows in one statement. */
  public void updateDeadlines(DSLContext tx, Map<Long, Instant> expiresAtById, Instant at) {
    if (expiresAtById.isEmpty()) return;
    var m = BUCKET_MEMBERSHIPS;
    var rows = expiresAtById.entrySet().stream()
        .map(e -> DSL.row(DSL.val(e.getKey()), DSL.val(e.getValue(), m.EXPIRES_AT.getDataType())))
        .toList();
    var v = DSL.values(rows.toArray(org.jooq.Row2[]::new)).as("v", "id", "expires_at");
    tx.update(m)
        .set(m.EXPIRES_AT, v.field("expires_at", m.EXPIRES_AT.getType()))
        .set(m.LAST_EVALUATED_AT, at)
        .set(m.UPDATED_AT, at)
        .from(v)
        .where(m.ID.eq(v.field("id", Long.class)).and(m.STATUS.eq(ACTIVE)))
        .execute();
  }
}
