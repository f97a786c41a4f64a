package dev.bucketflow.membership;

import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.USER_EVENTS;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import dev.bucketflow.shard.Shards;
import java.util.List;
import java.util.function.Predicate;
import org.jooq.DSLContext;

/**
 * Writes transitions in the caller's transaction: the outbox row ({@code bucket_transitions}) and
 * the {@code bucket:entered:<id>} / {@code bucket:left:<id>} user event with its deterministic
 * key. The generic {@code bucket:entered} / {@code bucket:left} event is written only when
 * {@code genericWanted} says a journey binds to it. Both inserts ignore conflicts on their keys,
 * so writing the same transition twice records it once.
 */
public final class TransitionWriter {

  private final Predicate<String> genericWanted;
  private final int shards;

  public TransitionWriter(Predicate<String> genericWanted) {
    this(genericWanted, Shards.DEFAULT_SHARDS);
  }

  /** @param shards the delivery shard count: each row records its user's shard (the ingest shard function) */
  public TransitionWriter(Predicate<String> genericWanted, int shards) {
    this.genericWanted = genericWanted;
    this.shards = shards;
  }

  public static TransitionWriter withoutGenericEvents() {
    return new TransitionWriter(name -> false);
  }

  public void write(DSLContext tx, List<Transition> transitions) {
    if (transitions.isEmpty()) return;
    var t = BUCKET_TRANSITIONS;
    var outbox = tx.insertInto(t, t.BUCKET_ID, t.USER_ID, t.KIND, t.EPOCH, t.SOURCE, t.EMITTED, t.CREATED_AT, t.SHARD);
    for (Transition tr : transitions) {
      outbox = outbox.values(tr.bucketId(), tr.userId(), tr.kind(), tr.epoch(), tr.source(), tr.emitted(), tr.at(),
          Shards.shardOf(tr.userId(), shards));
    }
    outbox.onConflictDoNothing().execute();

    var e = USER_EVENTS;
    var events = tx.insertInto(e, e.USER_ID, e.EVENT, e.PROPERTIES, e.OCCURRED_AT, e.RECEIVED_AT, e.IDEMPOTENCY_KEY);
    int rows = 0;
    for (Transition tr : transitions) {
      if (!tr.emitted()) continue;
      events = events.values(tr.userId(), tr.eventName(), Json.jsonb(properties(tr)), tr.at(), tr.at(), tr.idempotencyKey());
      rows++;
      String generic = "bucket:" + tr.kind();
      if (genericWanted.test(generic)) {
        events = events.values(tr.userId(), generic, Json.jsonb(properties(tr)), tr.at(), tr.at(),
            tr.idempotencyKey() + ":generic");
        rows++;
      }
    }
    if (rows > 0) events.onConflictDoNothing().execute();
  }

  static ObjectNode properties(Transition tr) {
    ObjectNode p = Json.MAPPER.createObjectNode();
    p.put("bucketId", tr.bucketId());
    p.put("bucketName", tr.bucketName());
    p.put("userId", tr.userId());
    p.put("transition", tr.kind().db());
    p.put("source", tr.source().db());
    return p;
  }
}
