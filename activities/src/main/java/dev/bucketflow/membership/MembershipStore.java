package dev.bucketflow.membership;

import static dev.bucketflow.bucket.MembershipStatus.ACTIVE;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;

import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.MembershipStatus;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jooq.DSLContext;

/**
 * {@code bucket_memberships}. Joins insert a fresh row guarded by the partial unique index; leaves
 * are compare-and-swap updates. Only a statement that returned a row may record a transition, so
 * concurrent writers never double-emit.
 */
public final class MembershipStore {

  /** See {@link #activeOf}; parameters: the users, the active status. */
  static final String ACTIVE_SQL =
      "select m.id, m.user_id, m.bucket_id, m.entered_at, m.entry_count, m.expires_at, "
          + "m.max_dwell_at from unnest(cast(? as text[])) as u(user_id) cross join lateral (select * from bucket_memberships b "
          + "where b.user_id = u.user_id offset 0) m where m.status = ? and m.deleted_at is null";

  /** See {@link #historyOf}; parameter: the users. */
  static final String HISTORY_SQL =
      "select h.user_id, h.bucket_id, max(h.entry_count), max(h.left_at) "
          + "from unnest(cast(? as text[])) as u(user_id) cross join lateral (select user_id, bucket_id, entry_count, left_at "
          + "from bucket_memberships b where b.user_id = u.user_id offset 0) h group by h.user_id, h.bucket_id";

  /**
   * Active rows of these users in these buckets. Fixed text with array parameters (as every
   * per-batch statement here): planned once, nothing rendered per user, and the partial unique
   * index on (user, bucket) serves it whatever the table's statistics say.
   */
  public Map<MembershipKey, ActiveMembership> activeOf(
      DSLContext tx, Collection<String> users, Collection<String> buckets) {
    Map<MembershipKey, ActiveMembership> out = new HashMap<>();
    if (users.isEmpty() || buckets.isEmpty()) return out;
    // Per user, one probe of bucket_memberships_history (led by user_id): the lateral subquery
    // with OFFSET 0 cannot be flattened into a join, and it names neither buckets nor status, so
    // no partial or by-bucket index can look cheaper; the status filter stays outside the fence.
    // Given the buckets and status inside, a young, unanalysed table got a hash of every active
    // row, or a walk of the partial dwell index per user: 270 ms to 1.1 s a batch in bench
    // ingest. A user has few rows; other buckets' are dropped here.
    Set<String> wanted = buckets instanceof Set<String> set ? set : new HashSet<>(buckets);
    tx.fetch(ACTIVE_SQL, users.toArray(String[]::new), ACTIVE.db())
        .forEach(
            r -> {
              String bucket = r.get(2, String.class);
              if (!wanted.contains(bucket)) return;
              String user = r.get(1, String.class);
              out.put(
                  new MembershipKey(user, bucket),
                  new ActiveMembership(
                      r.get(0, Long.class),
                      user,
                      bucket,
                      instant(r.get(3, OffsetDateTime.class)),
                      r.get(4, Integer.class),
                      instant(r.get(5, OffsetDateTime.class)),
                      instant(r.get(6, OffsetDateTime.class))));
            });
    return out;
  }

  /** See {@link #rowsOf}; parameter: the users. */
  static final String ROWS_SQL =
      "select m.id, m.user_id, m.bucket_id, m.status, m.deleted_at is null, m.entered_at, "
          + "m.entry_count, m.expires_at, m.max_dwell_at, m.left_at from unnest(cast(? as text[])) as u(user_id) "
          + "cross join lateral (select * from bucket_memberships b where b.user_id = u.user_id offset 0) m";

  /**
   * A batch's users' active rows and entry history, as {@link #activeOf} and {@link #historyOf}
   * give them.
   */
  public record Rows(
      Map<MembershipKey, ActiveMembership> active, Map<MembershipKey, MembershipHistory> history) {}

  /**
   * {@link #activeOf}({@code users}, {@code activeBuckets}) and {@link #historyOf}({@code users},
   * {@code historyBuckets}) from one probe per user instead of two: both read every row of the user
   * through {@code bucket_memberships_history} (see {@link #activeOf} for why that index and the
   * OFFSET 0 fence), so the ingest path reads each user's rows once. In {@code bench ingest} the
   * two probes were the second- and third-fastest-growing cost of a batch. The rows travel raw, one
   * per epoch, and are folded here: aggregating per (user, bucket) in SQL (max … FILTER for the
   * active row) took a third longer for 440 users of bench ingest's final database (10.5 ms against
   * 7.8 ms, transfer included).
   */
  public Rows rowsOf(
      DSLContext tx,
      Collection<String> users,
      Collection<String> activeBuckets,
      Collection<String> historyBuckets) {
    Map<MembershipKey, ActiveMembership> active = new HashMap<>();
    Map<MembershipKey, MembershipHistory> history = new HashMap<>();
    if (users.isEmpty() || (activeBuckets.isEmpty() && historyBuckets.isEmpty()))
      return new Rows(active, history);
    Set<String> activeWanted =
        activeBuckets instanceof Set<String> set ? set : new HashSet<>(activeBuckets);
    Set<String> historyWanted =
        historyBuckets instanceof Set<String> set ? set : new HashSet<>(historyBuckets);
    String activeStatus = ACTIVE.db();
    tx.fetch(ROWS_SQL, (Object) users.toArray(String[]::new))
        .forEach(
            r -> {
              String user = r.get(1, String.class);
              String bucket = r.get(2, String.class);
              int entryCount = r.get(6, Integer.class);
              if (activeWanted.contains(bucket)
                  && activeStatus.equals(r.get(3, String.class))
                  && r.get(4, Boolean.class)) {
                active.put(
                    new MembershipKey(user, bucket),
                    new ActiveMembership(
                        r.get(0, Long.class),
                        user,
                        bucket,
                        instant(r.get(5, OffsetDateTime.class)),
                        entryCount,
                        instant(r.get(7, OffsetDateTime.class)),
                        instant(r.get(8, OffsetDateTime.class))));
              }
              if (historyWanted.contains(bucket)) {
                // As HISTORY_SQL: max(entry_count) and max(left_at) over every row, deleted or not.
                Instant leftAt = instant(r.get(9, OffsetDateTime.class));
                history.merge(
                    new MembershipKey(user, bucket),
                    new MembershipHistory(entryCount, leftAt),
                    (a, b) ->
                        new MembershipHistory(
                            Math.max(a.entries(), b.entries()),
                            later(a.lastLeftAt(), b.lastLeftAt())));
              }
            });
    return new Rows(active, history);
  }

  private static Instant later(Instant a, Instant b) {
    if (a == null) return b;
    if (b == null) return a;
    return a.isAfter(b) ? a : b;
  }

  /**
   * Entries so far (= highest epoch) and the latest leave, per (user, bucket), in one statement.
   */
  public Map<MembershipKey, MembershipHistory> historyOf(
      DSLContext tx, Collection<String> users, Collection<String> buckets) {
    Map<MembershipKey, MembershipHistory> out = new HashMap<>();
    if (users.isEmpty() || buckets.isEmpty()) return out;
    // Index probes per user, as in activeOf; other buckets' epochs are dropped here.
    Set<String> wanted = buckets instanceof Set<String> set ? set : new HashSet<>(buckets);
    tx.fetch(HISTORY_SQL, (Object) users.toArray(String[]::new))
        .forEach(
            r -> {
              if (wanted.contains(r.get(1, String.class))) {
                out.put(
                    new MembershipKey(r.get(0, String.class), r.get(1, String.class)),
                    new MembershipHistory(
                        r.get(2, Integer.class), instant(r.get(3, OffsetDateTime.class))));
              }
            });
    return out;
  }

  private static Instant instant(OffsetDateTime at) {
    return at == null ? null : at.toInstant();
  }

  /**
   * Inserts a fresh active row unless one exists ({@code ON CONFLICT DO NOTHING} on the partial
   * unique index). Empty when another writer holds the active row: then nothing is recorded.
   */
  public Optional<ActiveMembership> join(
      DSLContext tx,
      String userId,
      String email,
      String bucketId,
      Instant at,
      int entryCount,
      Instant expiresAt,
      Instant maxDwellAt,
      MembershipSource source) {
    var m = BUCKET_MEMBERSHIPS;
    return tx.insertInto(
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
            m.LAST_EVALUATED_AT)
        .values(userId, email, bucketId, ACTIVE, at, expiresAt, maxDwellAt, entryCount, source, at)
        .onConflictDoNothing()
        .returningResult(m.ID)
        .fetchOptional(m.ID)
        .map(
            id ->
                new ActiveMembership(id, userId, bucketId, at, entryCount, expiresAt, maxDwellAt));
  }

  /**
   * Compare-and-swap leave (a left row keeps no deadline); the epoch when this call made the
   * change, empty otherwise.
   */
  public Optional<Integer> leaveIfActive(DSLContext tx, long membershipId, Instant at) {
    var m = BUCKET_MEMBERSHIPS;
    return tx.update(m)
        .set(m.STATUS, MembershipStatus.LEFT)
        .set(m.LEFT_AT, at)
        .setNull(m.EXPIRES_AT)
        .set(m.LAST_EVALUATED_AT, at)
        .set(m.UPDATED_AT, at)
        .where(m.ID.eq(membershipId).and(m.STATUS.eq(ACTIVE)))
        .returningResult(m.ENTRY_COUNT)
        .fetchOptional(m.ENTRY_COUNT);
  }

  /** Compare-and-swap leave of many rows in one statement; the ids this call changed. */
  Set<Long> leaveAllIfActive(DSLContext tx, Collection<Long> ids, Instant at) {
    if (ids.isEmpty()) return Set.of();
    var m = BUCKET_MEMBERSHIPS;
    return new HashSet<>(
        tx.update(m)
            .set(m.STATUS, MembershipStatus.LEFT)
            .set(m.LEFT_AT, at)
            .setNull(m.EXPIRES_AT)
            .set(m.LAST_EVALUATED_AT, at)
            .set(m.UPDATED_AT, at)
            .where(m.ID.in(ids).and(m.STATUS.eq(ACTIVE)))
            .returningResult(m.ID)
            .fetch(m.ID));
  }

  /**
   * Inserts a batch's new rows in one statement ({@code ON CONFLICT DO NOTHING}); returns the temp
   * ids of the rows inserted — an active row that met another writer's active row is not.
   */
  Set<Long> insertAll(DSLContext tx, List<NewRow> rows, MembershipSource source) {
    if (rows.isEmpty()) return Set.of();
    int n = rows.size();
    String[] users = new String[n];
    String[] emails = new String[n];
    String[] buckets = new String[n];
    String[] statuses = new String[n];
    String[] entered = new String[n];
    String[] left = new String[n];
    String[] expires = new String[n];
    String[] maxDwell = new String[n];
    Integer[] entries = new Integer[n];
    String[] evaluated = new String[n];
    record Epoch(String userId, String bucketId, int entryCount) {}
    Map<Epoch, Long> byKey = new HashMap<>();
    for (int i = 0; i < n; i++) {
      NewRow r = rows.get(i);
      users[i] = r.userId;
      emails[i] = r.email;
      buckets[i] = r.bucketId;
      statuses[i] = (r.active() ? ACTIVE : MembershipStatus.LEFT).db();
      entered[i] = text(r.enteredAt);
      left[i] = text(r.leftAt);
      expires[i] = r.active() ? text(r.expiresAt) : null;
      maxDwell[i] = text(r.maxDwellAt);
      entries[i] = r.entryCount;
      evaluated[i] = text(r.active() ? r.enteredAt : r.leftAt);
      byKey.put(new Epoch(r.userId, r.bucketId, r.entryCount), r.tempId);
    }
    Set<Long> inserted = new HashSet<>();
    // One statement of fixed text whatever the row count (see TransitionWriter#write).
    tx.fetch(
            "insert into bucket_memberships (user_id, user_email, bucket_id, status, entered_at, left_at, expires_at, "
                + "max_dwell_at, entry_count, source, last_evaluated_at) "
                + "select u, e, b, st, ent, lft, exp, md, n, cast(? as text), ev from unnest(cast(? as text[]), cast(? as text[]), "
                + "cast(? as text[]), cast(? as text[]), cast(? as timestamptz[]), cast(? as timestamptz[]), "
                + "cast(? as timestamptz[]), cast(? as timestamptz[]), cast(? as int[]), cast(? as timestamptz[])) "
                + "as x(u, e, b, st, ent, lft, exp, md, n, ev) "
                + "on conflict do nothing returning user_id, bucket_id, entry_count",
            source.db(),
            users,
            emails,
            buckets,
            statuses,
            entered,
            left,
            expires,
            maxDwell,
            entries,
            evaluated)
        .forEach(
            r ->
                inserted.add(
                    byKey.get(
                        new Epoch(
                            r.get(0, String.class),
                            r.get(1, String.class),
                            r.get(2, Integer.class)))));
    return inserted;
  }

  private static String text(Instant at) {
    return at == null ? null : at.toString();
  }

  /**
   * Re-stamps deadlines of still-active rows in one statement of fixed text: ids and deadlines
   * travel as two arrays (a multi-row {@code VALUES} list was rendered and planned anew for every
   * row count, as the other batch statements here once were).
   */
  public void updateDeadlines(DSLContext tx, Map<Long, Instant> expiresAtById, Instant at) {
    if (expiresAtById.isEmpty()) return;
    Long[] ids = new Long[expiresAtById.size()];
    String[] deadlines = new String[expiresAtById.size()];
    int i = 0;
    for (Map.Entry<Long, Instant> e : expiresAtById.entrySet()) {
      ids[i] = e.getKey();
      deadlines[i] = text(e.getValue());
      i++;
    }
    tx.execute(
        "update bucket_memberships m set expires_at = v.expires_at,"
            + " last_evaluated_at = cast(? as timestamptz), updated_at = cast(? as timestamptz)"
            + " from unnest(cast(? as bigint[]), cast(? as timestamptz[])) as v(id, expires_at)"
            + " where m.id = v.id and m.status = 'active'",
        at.toString(),
        at.toString(),
        ids,
        deadlines);
  }
}
