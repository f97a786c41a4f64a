package dev.bucketflow.ingest;

import static dev.bucketflow.schema.Tables.REJECTED_EVENTS;

import java.util.List;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code rejected_events}: every refused event with its reason and raw payload (escaped where
 * PostgreSQL could not store it).
 */
public final class RejectedEventStore {

  private static final Logger log = LoggerFactory.getLogger(RejectedEventStore.class);

  public void record(DSLContext tx, List<Rejection> rejections) {
    if (rejections.isEmpty()) return;
    var step =
        tx.insertInto(
            REJECTED_EVENTS,
            REJECTED_EVENTS.REASON,
            REJECTED_EVENTS.DETAIL,
            REJECTED_EVENTS.USER_ID,
            REJECTED_EVENTS.EVENT,
            REJECTED_EVENTS.PAYLOAD);
    for (Rejection r : rejections) {
      // Whatever a client sent, the row must be storable: escape NUL and unpaired surrogates.
      String userId = StorableText.of(r.userId(), 300);
      String event = StorableText.of(r.event(), 300);
      String detail = StorableText.of(r.detail(), 2000);
      log.warn("rejected event user={} event={} reason={}: {}", userId, event, r.reason(), detail);
      step =
          step.values(
              r.reason(), detail, userId, event, StorableText.of(r.payload(), Integer.MAX_VALUE));
    }
    step.execute();
  }
}
