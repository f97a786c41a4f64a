package dev.bucketflow.worker;

import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;

import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.ingest.PendingEvent;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/**
 * What an import's signals did, read back from what the shards wrote: a manual join writes one
 * {@code entered} outbox row (a manual leave one {@code left} row) and an add for a member (a
 * remove for a non-member) writes nothing, so {@code changed} counts those rows written since the
 * import began, and {@code unchanged} is the rest of what was sent minus what a shard refused
 * (recorded in {@code rejected_events}, e.g. a deleted contact). Identity ids, not clocks, mark
 * "since": every row our signals cause gets an id above the mark taken before the first signal.
 */
record ImportOutcome(long changed, long unchanged, Map<String, Long> refused, boolean overcounted) {

  /** The highest outbox and rejection ids before the first signal. */
  record Marks(long transitionId, long rejectedId) {
    static Marks now(DSLContext dsl) {
      long t =
          dsl.select(DSL.coalesce(DSL.max(BUCKET_TRANSITIONS.ID), 0L))
              .from(BUCKET_TRANSITIONS)
              .fetchOne()
              .value1();
      long r =
          dsl.select(DSL.coalesce(DSL.max(REJECTED_EVENTS.ID), 0L))
              .from(REJECTED_EVENTS)
              .fetchOne()
              .value1();
      return new Marks(t, r);
    }
  }

  long refusedTotal() {
    return refused.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Counts once the shards have applied every signal sent ({@code sent} of them). */
  static ImportOutcome count(
      DSLContext dsl, Marks marks, String bucketId, boolean remove, long sent) {
    var t = BUCKET_TRANSITIONS;
    long changed =
        dsl.fetchCount(
            t,
            t.ID
                .gt(marks.transitionId())
                .and(t.BUCKET_ID.eq(bucketId))
                .and(t.KIND.eq(remove ? TransitionKind.LEFT : TransitionKind.ENTERED))
                .and(t.SOURCE.eq(MembershipSource.MANUAL)));
    var r = REJECTED_EVENTS;
    String signal = remove ? PendingEvent.REMOVE_FROM_BUCKET : PendingEvent.ADD_TO_BUCKET;
    Map<String, Long> refused = new LinkedHashMap<>();
    // The rejection keeps the operation's payload as compact JSON: {"userId":…,"bucketId":"<id>"}
    // in either key order; contains() escapes LIKE wildcards in the id.
    dsl.select(r.REASON, DSL.count())
        .from(r)
        .where(
            r.ID
                .gt(marks.rejectedId())
                .and(r.EVENT.eq(signal))
                .and(r.PAYLOAD.contains("\"bucketId\":\"" + bucketId + "\"")))
        .groupBy(r.REASON)
        .orderBy(r.REASON)
        .forEach(rec -> refused.put(rec.value1(), rec.value2().longValue()));
    long refusedTotal = refused.values().stream().mapToLong(Long::longValue).sum();
    long unchanged = sent - changed - refusedTotal;
    return new ImportOutcome(changed, Math.max(0, unchanged), refused, unchanged < 0);
  }
}
