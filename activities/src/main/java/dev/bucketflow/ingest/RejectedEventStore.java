package dev.bucketflow.ingest;

import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;

import java.util.List;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code rejected_events}: every refused event with its reason and raw payload. */
public final class RejectedEventStore {

  private static final Logger log = LoggerFactory.getLogger(RejectedEventStore.class);

  public void record(DSLContext tx, List<Rejection> rejections) {
    if (rejections.isEmpty()) return;
    var step = tx.insertInto(REJECTED_EVENTS, REJECTED_EVENTS.REASON, REJECTED_EVENTS.DETAIL,
        REJECTED_EVENTS.USER_ID, REJECTED_EVENTS.EVENT, REJECTED_EVENTS.PAYLOAD);
    for (Rejection r : rejections) {
      log.warn("rejected event user={} event={} reason={}: {}", r.userId(), r.event(), r.reason(), r.detail());
      step = step.values(r.reason(), r.detail(), r.userId(), r.event(), r.payload());
    }
    step.execute();
  }
}
