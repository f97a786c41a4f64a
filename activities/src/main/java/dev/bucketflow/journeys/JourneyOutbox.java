package dev.bucketflow.journeys;

import static dev.bucketflow.schema.Tables.JOURNEY_OUTBOX;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bucketflow.db.Json;
import dev.bucketflow.dispatch.OutboxStream;
import dev.bucketflow.dispatch.OutboxTable;
import dev.bucketflow.event.IncomingEvent;
import dev.bucketflow.shard.Shards;
import java.util.List;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;

/**
 * Ordinary events that journeys listen to, recorded in the ingest transaction and routed after
 * commit by the delivery workflows (the outbox pattern again, so a crash in between loses no
 * journey start or exit).
 */
public final class JourneyOutbox implements OutboxStream<JourneyOutbox.JourneyEvent> {

  /** A recorded event on its way to the router. */
  public record JourneyEvent(
      long id, String userId, String event, JsonNode properties, String key) {}

  private static final OutboxTable COLUMNS =
      new OutboxTable(
          JOURNEY_OUTBOX,
          JOURNEY_OUTBOX.ID,
          JOURNEY_OUTBOX.USER_ID,
          JOURNEY_OUTBOX.SHARD,
          JOURNEY_OUTBOX.DISPATCHED_AT,
          JOURNEY_OUTBOX.ATTEMPTS,
          JOURNEY_OUTBOX.NEXT_ATTEMPT_AT,
          JOURNEY_OUTBOX.LAST_ERROR,
          JOURNEY_OUTBOX.PARKED_AT);

  private final JourneyRouter router;
  private final int shards;

  public JourneyOutbox(JourneyRouter router) {
    this(router, Shards.DEFAULT_SHARDS);
  }

  /**
   * @param shards the delivery shard count (each row records its user's shard)
   */
  public JourneyOutbox(JourneyRouter router, int shards) {
    this.router = router;
    this.shards = shards;
  }

  /** In the ingest transaction: keeps the stored events some journey triggers or exits on. */
  public int record(DSLContext tx, String batchId, List<IncomingEvent> stored) {
    var o = JOURNEY_OUTBOX;
    var insert = tx.insertInto(o, o.USER_ID, o.EVENT, o.PROPERTIES, o.EVENT_KEY, o.SHARD);
    int rows = 0;
    for (int i = 0; i < stored.size(); i++) {
      IncomingEvent e = stored.get(i);
      if (!router.journeys().listensTo(e.event())) continue;
      // Keys are per user, so the user is part of the dedup key.
      String key =
          e.idempotencyKey() != null
              ? "key:" + e.userId() + ":" + e.idempotencyKey()
              : "batch:" + batchId + ":" + i;
      insert =
          insert.values(
              e.userId(),
              e.event(),
              Json.jsonb(e.properties()),
              key,
              Shards.shardOf(e.userId(), shards));
      rows++;
    }
    if (rows > 0) insert.onConflictDoNothing().execute();
    return rows;
  }

  /**
   * In the deleting transaction: every running journey of the user is to be exited after commit.
   */
  public int recordDeletion(DSLContext tx, String userId, String key) {
    var o = JOURNEY_OUTBOX;
    return tx.insertInto(o, o.USER_ID, o.EVENT, o.EVENT_KEY, o.SHARD)
        .values(
            userId, JourneyRouter.CONTACT_DELETED, "delete:" + key, Shards.shardOf(userId, shards))
        .onConflictDoNothing()
        .execute();
  }

  @Override
  public String name() {
    return "journey-events";
  }

  @Override
  public OutboxTable columns() {
    return COLUMNS;
  }

  @Override
  public List<Field<?>> payload() {
    return List.of(JOURNEY_OUTBOX.EVENT, JOURNEY_OUTBOX.PROPERTIES, JOURNEY_OUTBOX.EVENT_KEY);
  }

  @Override
  public JourneyEvent map(Record r) {
    var o = JOURNEY_OUTBOX;
    return new JourneyEvent(
        r.get(o.ID),
        r.get(o.USER_ID),
        r.get(o.EVENT),
        Json.object(r.get(o.PROPERTIES)),
        r.get(o.EVENT_KEY));
  }

  @Override
  public void deliver(JourneyEvent e, dev.bucketflow.dispatch.DeliveryStep.Control control) {
    router.route(e.userId(), e.event(), e.properties(), e.key());
  }
}
