package dev.bucketflow.journeys;

import static dev.bucketflow.schema.Tables.JOURNEY_OUTBOX;

import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.IncomingEvent;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ordinary events that journeys listen to, recorded in the ingest transaction and routed after
 * commit (the outbox pattern again, so a crash in between loses no journey start or exit).
 */
public final class JourneyOutbox {

  private static final Logger log = LoggerFactory.getLogger(JourneyOutbox.class);
  private static final int PAGE = 100;

  private final JourneyRouter router;
  private final Clock clock;

  public JourneyOutbox(JourneyRouter router, Clock clock) {
    this.router = router;
    this.clock = clock;
  }

  /** In the ingest transaction: keeps the stored events some journey triggers or exits on. */
  public int record(DSLContext tx, String batchId, List<IncomingEvent> stored) {
    var o = JOURNEY_OUTBOX;
    var insert = tx.insertInto(o, o.USER_ID, o.EVENT, o.PROPERTIES, o.EVENT_KEY);
    int rows = 0;
    for (int i = 0; i < stored.size(); i++) {
      IncomingEvent e = stored.get(i);
      if (!router.journeys().listensTo(e.event())) continue;
      // Keys are per user, so the user is part of the dedup key.
      String key = e.idempotencyKey() != null ? "key:" + e.userId() + ":" + e.idempotencyKey() : "batch:" + batchId + ":" + i;
      insert = insert.values(e.userId(), e.event(), Json.jsonb(e.properties()), key);
      rows++;
    }
    if (rows > 0) insert.onConflictDoNothing().execute();
    return rows;
  }

  /** In the deleting transaction: every running journey of the user is to be exited after commit. */
  public int recordDeletion(DSLContext tx, String userId, String key) {
    var o = JOURNEY_OUTBOX;
    return tx.insertInto(o, o.USER_ID, o.EVENT, o.EVENT_KEY).values(userId, JourneyRouter.CONTACT_DELETED, "delete:" + key)
        .onConflictDoNothing().execute();
  }

  /** Routes pending rows; a row whose routing failed stays for the next drain. */
  public int drain(DSLContext dsl) {
    return drain(dsl, () -> {});
  }

  /** As {@link #drain(DSLContext)}, calling {@code heartbeat} before each page. */
  public int drain(DSLContext dsl, Runnable heartbeat) {
    int total = 0;
    while (true) {
      heartbeat.run();
      int[] page = dsl.transactionResult(cfg -> {
        DSLContext tx = cfg.dsl();
        var o = JOURNEY_OUTBOX;
        var rows = tx.select(o.ID, o.USER_ID, o.EVENT, o.PROPERTIES, o.EVENT_KEY).from(o).where(o.DISPATCHED_AT.isNull())
            .orderBy(o.ID).limit(PAGE).forUpdate().skipLocked().fetch();
        List<Long> done = new ArrayList<>();
        for (var r : rows) {
          try {
            router.route(r.value2(), r.value3(), Json.object(r.value4()), r.value5());
            done.add(r.value1());
          } catch (RuntimeException e) {
            log.warn("journey routing of event {} for user {} failed; will retry: {}", r.value3(), r.value2(), e.toString());
          }
        }
        if (!done.isEmpty()) tx.update(o).set(o.DISPATCHED_AT, clock.instant()).where(o.ID.in(done)).execute();
        return new int[] {done.size(), rows.size()};
      });
      total += page[0];
      if (page[1] < PAGE || page[0] == 0) return total;
    }
  }
}
