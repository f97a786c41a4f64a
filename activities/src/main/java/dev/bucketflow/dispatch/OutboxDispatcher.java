package dev.bucketflow.dispatch;

import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;

import dev.bucketflow.journeys.JourneyOutbox;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers committed outbox rows to every target, then marks them dispatched. Rows are claimed
 * with {@code FOR UPDATE SKIP LOCKED}, so concurrent dispatchers (several workers, the ingest
 * path racing the sweep) never deliver the same row at the same time; a row whose delivery failed
 * stays undispatched and is retried by the next drain or reconcile sweep.
 */
public final class OutboxDispatcher {

  private static final Logger log = LoggerFactory.getLogger(OutboxDispatcher.class);
  private static final int PAGE = 100;

  private final DSLContext dsl;
  private final List<TransitionTarget> targets;
  private final Clock clock;
  private final JourneyOutbox journeyOutbox;

  /** @param journeyOutbox ordinary events journeys listen to, drained with the transitions; may be null */
  public OutboxDispatcher(DSLContext dsl, List<TransitionTarget> targets, JourneyOutbox journeyOutbox, Clock clock) {
    this.dsl = dsl;
    this.targets = List.copyOf(targets);
    this.journeyOutbox = journeyOutbox;
    this.clock = clock;
  }

  /** Dispatches pending transitions (then journey events) until none is left or a page fails entirely. */
  public int drain() {
    return drain(() -> {});
  }

  /** As {@link #drain()}, calling {@code heartbeat} before each page (an activity's liveness signal). */
  public int drain(Runnable heartbeat) {
    int total = drainTransitions(heartbeat);
    if (journeyOutbox == null) return total;
    heartbeat.run();
    return total + journeyOutbox.drain(dsl, heartbeat);
  }

  private int drainTransitions(Runnable heartbeat) {
    int total = 0;
    while (true) {
      heartbeat.run();
      int[] page = dsl.transactionResult(cfg -> dispatchPage(cfg.dsl()));
      total += page[0];
      if (page[1] < PAGE || page[0] == 0) return total;
    }
  }

  /** Returns {dispatched, claimed}. */
  private int[] dispatchPage(DSLContext tx) {
    var t = BUCKET_TRANSITIONS;
    List<OutboxRow> rows = tx.select(t.ID, t.BUCKET_ID, t.USER_ID, t.KIND, t.EPOCH, t.SOURCE, t.EMITTED, t.CREATED_AT)
        .from(t).where(t.DISPATCHED_AT.isNull()).orderBy(t.ID).limit(PAGE).forUpdate().skipLocked()
        .fetch(r -> new OutboxRow(r.value1(), r.value2(), r.value3(), r.value4(), r.value5(), r.value6(), r.value7(), r.value8()));
    List<Long> done = new ArrayList<>(rows.size());
    for (OutboxRow row : rows) {
      if (deliver(row)) done.add(row.id());
    }
    if (!done.isEmpty()) tx.update(t).set(t.DISPATCHED_AT, clock.instant()).where(t.ID.in(done)).execute();
    return new int[] {done.size(), rows.size()};
  }

  private boolean deliver(OutboxRow row) {
    for (TransitionTarget target : targets) {
      try {
        target.deliver(row);
      } catch (Exception e) {
        log.warn("dispatch of transition {} (bucket={} user={} {}) to {} failed; will retry: {}",
            row.id(), row.bucketId(), row.userId(), row.kind(), target.getClass().getSimpleName(), e.toString());
        return false;
      }
    }
    return true;
  }
}
