package dev.bucketflow.admin;

import static dev.bucketflow.schema.Tables.BUCKET_BACKFILL_JOBS;
import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;

import dev.bucketflow.admin.Views.Backfill;
import dev.bucketflow.admin.Views.BucketSummary;
import dev.bucketflow.admin.Views.Member;
import dev.bucketflow.admin.Views.MemberPage;
import dev.bucketflow.admin.Views.TransitionView;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.TransitionKind;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

/**
 * Read-side queries behind {@code /api/buckets}: summaries, member pages, recent transitions. Never
 * writes.
 */
final class BucketReads {

  static final int MAX_PAGE = 500;

  private final AdminContext ctx;

  BucketReads(AdminContext ctx) {
    this.ctx = ctx;
  }

  /**
   * Summaries of the given buckets in their order, each counted set-based (one query per figure,
   * not per bucket).
   */
  List<BucketSummary> summaries(Collection<BucketDefinition> buckets) {
    DSLContext dsl = ctx.dsl();
    List<String> ids = buckets.stream().map(BucketDefinition::id).toList();
    var m = BUCKET_MEMBERSHIPS;
    var t = BUCKET_TRANSITIONS;
    var c = BUCKET_CONFIGS;
    var j = BUCKET_BACKFILL_JOBS;
    Map<String, Long> size = new HashMap<>();
    dsl.select(m.BUCKET_ID, DSL.count())
        .from(m)
        .where(
            m.BUCKET_ID
                .in(ids)
                .and(m.STATUS.eq(MembershipStatus.ACTIVE))
                .and(m.DELETED_AT.isNull()))
        .groupBy(m.BUCKET_ID)
        .forEach(r -> size.put(r.value1(), (long) r.value2()));
    Field<BigDecimal> dwell =
        DSL.field(
            "avg(extract(epoch from ({0} - {1})))", SQLDataType.NUMERIC, m.LEFT_AT, m.ENTERED_AT);
    Map<String, Double> avgDwell = new HashMap<>();
    dsl.select(m.BUCKET_ID, dwell)
        .from(m)
        .where(
            m.BUCKET_ID.in(ids).and(m.STATUS.eq(MembershipStatus.LEFT)).and(m.LEFT_AT.isNotNull()))
        .groupBy(m.BUCKET_ID)
        .forEach(
            r -> {
              if (r.value2() != null) avgDwell.put(r.value1(), r.value2().doubleValue());
            });
    Map<String, long[]> moves = new HashMap<>();
    dsl.select(
            t.BUCKET_ID,
            DSL.count().filterWhere(t.KIND.eq(TransitionKind.ENTERED)),
            DSL.count().filterWhere(t.KIND.eq(TransitionKind.LEFT)))
        .from(t)
        .where(t.BUCKET_ID.in(ids))
        .groupBy(t.BUCKET_ID)
        .forEach(r -> moves.put(r.value1(), new long[] {r.value2(), r.value3()}));
    Map<String, Boolean> switches =
        dsl.select(c.BUCKET_ID, c.ENABLED)
            .from(c)
            .where(c.BUCKET_ID.in(ids))
            .fetchMap(c.BUCKET_ID, c.ENABLED);
    Map<String, Backfill> backfills = new HashMap<>();
    dsl.selectDistinct()
        .on(j.BUCKET_ID)
        .from(j)
        .where(j.BUCKET_ID.in(ids))
        .orderBy(j.BUCKET_ID, j.ID.desc())
        .forEach(r -> backfills.put(r.get(j.BUCKET_ID), backfill(r)));
    return buckets.stream()
        .map(
            b ->
                new BucketSummary(
                    b.id(),
                    b.name(),
                    b.kind().json(),
                    b.enabled() && switches.getOrDefault(b.id(), true),
                    b.timeBased(),
                    b.fastExpiry(),
                    size.getOrDefault(b.id(), 0L),
                    moves.getOrDefault(b.id(), new long[2])[0],
                    moves.getOrDefault(b.id(), new long[2])[1],
                    avgDwell.get(b.id()),
                    backfills.get(b.id())))
        .toList();
  }

  BucketSummary summary(BucketDefinition bucket) {
    return summaries(List.of(bucket)).get(0);
  }

  private static Backfill backfill(Record r) {
    var j = BUCKET_BACKFILL_JOBS;
    return new Backfill(
        r.get(j.KIND),
        r.get(j.STATUS),
        r.get(j.PROCESSED),
        r.get(j.TOTALS),
        r.get(j.JOINED),
        r.get(j.LEFT),
        r.get(j.STARTED_AT),
        r.get(j.FINISHED_AT),
        r.get(j.ERROR));
  }

  /**
   * One page of a bucket's memberships, newest first: {@code active} by {@code entered_at}, {@code
   * left} by {@code left_at}, {@code all} (no status) by {@code entered_at}; ties broken by the row
   * id, so a keyset cursor never skips or repeats a row.
   *
   * @param userPrefix optional filter: user ids starting with it (the dashboard's search box)
   */
  MemberPage members(String bucketId, String status, int limit, String after, String userPrefix) {
    var m = BUCKET_MEMBERSHIPS;
    Field<Instant> key = "left".equals(status) ? m.LEFT_AT : m.ENTERED_AT;
    Condition where = m.BUCKET_ID.eq(bucketId).and(m.DELETED_AT.isNull());
    if (!"all".equals(status)) where = where.and(m.STATUS.eq(MembershipStatus.fromDb(status)));
    if (userPrefix != null && !userPrefix.isEmpty())
      where = where.and(m.USER_ID.startsWith(userPrefix));
    if (after != null && !after.isEmpty()) {
      MemberCursor cursor = MemberCursor.decode(after, status);
      where = where.and(DSL.row(key, m.ID).lt(cursor.time(), cursor.id()));
    }
    var leave = BUCKET_TRANSITIONS.as("leave");
    List<Record> rows =
        ctx
            .dsl()
            .select(
                m.ID,
                m.USER_ID,
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
            .where(where)
            .orderBy(key.desc(), m.ID.desc())
            .limit(limit + 1)
            .fetch()
            .stream()
            .map(r -> (Record) r)
            .toList();
    boolean more = rows.size() > limit;
    List<Record> page = more ? rows.subList(0, limit) : rows;
    List<Member> members =
        page.stream()
            .map(
                r ->
                    new Member(
                        r.get(m.USER_ID),
                        r.get(m.STATUS),
                        r.get(m.ENTERED_AT),
                        r.get(m.LEFT_AT),
                        r.get(m.EXPIRES_AT),
                        r.get(m.ENTRY_COUNT),
                        r.get(m.SOURCE),
                        r.get(leave.REASON)))
            .toList();
    String next = null;
    if (more) {
      Record last = page.get(page.size() - 1);
      next = MemberCursor.of(status, last.get(key), last.get(m.ID)).encode();
    }
    return new MemberPage(members, next);
  }

  /** The newest {@code limit} outbox rows of a bucket. */
  List<TransitionView> recentTransitions(String bucketId, int limit) {
    var t = BUCKET_TRANSITIONS;
    return ctx.dsl()
        .selectFrom(t)
        .where(t.BUCKET_ID.eq(bucketId))
        .orderBy(t.ID.desc())
        .limit(limit)
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
  }
}
