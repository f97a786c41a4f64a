package dev.bucketflow.ingest;

import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.event.IncomingEvent;
import static dev.bucketflow.schema.Tables.CONTACTS;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.TreeSet;
import java.util.Map;
import java.util.TreeMap;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/** {@code contacts}: shallow property merge, later event wins per key. */
public final class ContactStore {

  /**
   * Creates missing contacts and locks every contact of the batch, in id order, for the rest of
   * the transaction: concurrent batches touching one user, and the clock-driven writers (which
   * take the same lock, {@link dev.bucketflow.membership.ContactLocks}), are serialized here, so
   * membership is always evaluated against committed state.
   */
  public Map<String, Locked> lockAndLoad(DSLContext tx, Collection<String> userIds) {
    Map<String, Locked> out = new HashMap<>();
    if (userIds.isEmpty()) return out;
    List<String> sorted = new ArrayList<>(new TreeSet<>(userIds));
    var insert = tx.insertInto(CONTACTS, CONTACTS.EXTERNAL_ID);
    for (String id : sorted) insert = insert.values(id);
    insert.onConflictDoNothing().execute();
    tx.select(CONTACTS.EXTERNAL_ID, CONTACTS.EMAIL, CONTACTS.PROPERTIES, CONTACTS.DELETED_AT)
        .from(CONTACTS).where(CONTACTS.EXTERNAL_ID.in(sorted)).orderBy(CONTACTS.EXTERNAL_ID).forUpdate()
        .forEach(r -> out.put(r.value1(), new Locked(Json.object(r.value3()), r.value2(), r.value4() != null)));
    return out;
  }

  /**
   * Soft-deletes the contact (creating a tombstone if it never existed, so later events are
   * refused) and its active memberships, without emitting anything.
   */
  public void delete(DSLContext tx, String userId, Instant at) {
    tx.insertInto(CONTACTS, CONTACTS.EXTERNAL_ID, CONTACTS.DELETED_AT).values(userId, at)
        .onConflict(CONTACTS.EXTERNAL_ID).doUpdate()
        .set(CONTACTS.DELETED_AT, DSL.coalesce(CONTACTS.DELETED_AT, DSL.val(at))).set(CONTACTS.UPDATED_AT, at)
        .execute();
    var m = dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
    tx.update(m).set(m.DELETED_AT, at).set(m.UPDATED_AT, at)
        .where(m.USER_ID.eq(userId).and(m.DELETED_AT.isNull()).and(m.STATUS.eq(MembershipStatus.ACTIVE)))
        .execute();
  }

  /** A contact as locked at the start of a batch. */
  public record Locked(ObjectNode properties, String email, boolean deleted) {}

  /** The net change one batch makes to one contact. */
  record Patch(ObjectNode properties, String email, Instant at) {}

  /**
   * Upserts the batch's contacts in one statement. Events are folded per user in batch order
   * first, so the statement touches each contact once, in user-id order (no deadlocks between
   * concurrent batches).
   */
  public void merge(DSLContext tx, List<IncomingEvent> events) {
    if (events.isEmpty()) return;
    Map<String, Patch> patches = new TreeMap<>();
    for (IncomingEvent e : events) {
      Patch p = patches.computeIfAbsent(e.userId(),
          id -> new Patch(Json.MAPPER.createObjectNode(), null, e.receivedAt()));
      p.properties().setAll(e.properties());
      if (e.email() != null) patches.put(e.userId(), new Patch(p.properties(), e.email(), e.receivedAt()));
    }
    var step = tx.insertInto(CONTACTS, CONTACTS.EXTERNAL_ID, CONTACTS.EMAIL, CONTACTS.PROPERTIES);
    for (Map.Entry<String, Patch> entry : patches.entrySet()) {
      Patch p = entry.getValue();
      step = step.values(entry.getKey(), p.email(), Json.jsonb(p.properties()));
    }
    step.onConflict(CONTACTS.EXTERNAL_ID)
        .doUpdate()
        .set(CONTACTS.PROPERTIES, DSL.field("{0} || excluded.properties", CONTACTS.PROPERTIES.getDataType(), CONTACTS.PROPERTIES))
        .set(CONTACTS.EMAIL, DSL.coalesce(DSL.field("excluded.email", String.class), CONTACTS.EMAIL))
        .set(CONTACTS.UPDATED_AT, DSL.currentInstant())
        .execute();
  }
}
