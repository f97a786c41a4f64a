package dev.bucketflow.ingest;

import static dev.bucketflow.schema.Tables.CONTACTS;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.db.Json;
import dev.bucketflow.event.IncomingEvent;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.impl.DSL;

/** {@code contacts}: shallow property merge, later event wins per key. */
public final class ContactStore {

  /**
   * Creates missing contacts and locks every contact of the batch, in id order, for the rest of the
   * transaction: concurrent batches touching one user, and the clock-driven writers (which take the
   * same lock, {@link dev.bucketflow.membership.ContactLocks}), are serialized here, so membership
   * is always evaluated against committed state.
   */
  public Map<String, Locked> lockAndLoad(DSLContext tx, Collection<String> userIds) {
    Map<String, Locked> out = new HashMap<>();
    if (userIds.isEmpty()) return out;
    String[] sorted = new TreeSet<>(userIds).toArray(new String[0]);
    tx.execute(CREATE_MISSING_SQL, (Object) sorted);
    tx.fetch(LOCK_SQL, (Object) sorted)
        .forEach(
            r ->
                out.put(
                    r.get(0, String.class),
                    new Locked(
                        Json.object(JSONB.jsonbOrNull(r.get(2, String.class))),
                        r.get(1, String.class),
                        r.get(3, Boolean.class))));
    return out;
  }

  /*
   * Fixed statement texts with the batch's columns bound as arrays: a multi-row VALUES or IN list
   * built by jOOQ was rendered anew for every batch (with the merge, the largest Java cost of a
   * batch in a bench e2e profile), and planned anew for every row count.
   */
  private static final String CREATE_MISSING_SQL =
      "insert into contacts (external_id) select id from unnest(cast(? as text[])) as x(id) order by id "
          + "on conflict do nothing";
  private static final String LOCK_SQL =
      "select external_id, email, properties::text, deleted_at is not null from contacts "
          + "where external_id = any(cast(? as text[])) order by external_id for update";
  private static final String MERGE_SQL =
      """
      insert into contacts as c (external_id, email, properties)
      select id, email, properties from unnest(cast(? as text[]), cast(? as text[]), cast(? as jsonb[]))
        as x(id, email, properties) order by id
      on conflict (external_id) do update set
        properties = c.properties || excluded.properties,
        email = coalesce(excluded.email, c.email),
        updated_at = current_timestamp
      """;

  /**
   * Soft-deletes the contact (creating a tombstone if it never existed, so later events are
   * refused) and its active memberships, without emitting anything.
   */
  public void delete(DSLContext tx, String userId, Instant at) {
    tx.insertInto(CONTACTS, CONTACTS.EXTERNAL_ID, CONTACTS.DELETED_AT)
        .values(userId, at)
        .onConflict(CONTACTS.EXTERNAL_ID)
        .doUpdate()
        .set(CONTACTS.DELETED_AT, DSL.coalesce(CONTACTS.DELETED_AT, DSL.val(at)))
        .set(CONTACTS.UPDATED_AT, at)
        .execute();
    var m = dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
    tx.update(m)
        .set(m.DELETED_AT, at)
        .set(m.UPDATED_AT, at)
        .where(
            m.USER_ID
                .eq(userId)
                .and(m.DELETED_AT.isNull())
                .and(m.STATUS.eq(MembershipStatus.ACTIVE)))
        .execute();
  }

  /** A contact as locked at the start of a batch. */
  public record Locked(ObjectNode properties, String email, boolean deleted) {}

  /** The net change one batch makes to one contact. */
  record Patch(ObjectNode properties, String email, Instant at) {}

  /**
   * Upserts the batch's contacts in one statement. Events are folded per user in batch order first,
   * so the statement touches each contact once, in user-id order (no deadlocks between concurrent
   * batches). A contact the folded patch would not change (no properties and no email, or only the
   * values it already has, as {@code before} locked them) is not written at all: most events carry
   * no properties, and rewriting their unchanged contacts was a dead row per user and batch, whose
   * vacuuming took a growing share of {@code bench ingest}'s two cores. So {@code updated_at} is
   * when the stored email or properties last changed.
   *
   * @param before the batch's contacts as {@link #lockAndLoad} returned them (still locked)
   */
  public void merge(DSLContext tx, List<IncomingEvent> events, Map<String, Locked> before) {
    if (events.isEmpty()) return;
    Map<String, Patch> patches = new TreeMap<>();
    for (IncomingEvent e : events) {
      Patch p =
          patches.computeIfAbsent(
              e.userId(), id -> new Patch(Json.MAPPER.createObjectNode(), null, e.receivedAt()));
      p.properties().setAll(e.properties());
      if (e.email() != null)
        patches.put(e.userId(), new Patch(p.properties(), e.email(), e.receivedAt()));
    }
    patches
        .entrySet()
        .removeIf(entry -> changesNothing(entry.getValue(), before.get(entry.getKey())));
    if (patches.isEmpty()) return;
    int n = patches.size();
    String[] ids = new String[n];
    String[] emails = new String[n];
    String[] properties = new String[n];
    int i = 0;
    for (Map.Entry<String, Patch> entry : patches.entrySet()) {
      ids[i] = entry.getKey();
      emails[i] = entry.getValue().email();
      properties[i] = entry.getValue().properties().toString();
      i++;
    }
    tx.execute(MERGE_SQL, ids, emails, properties);
  }

  /**
   * Whether writing {@code patch} over {@code locked} would store the same email and properties.
   */
  static boolean changesNothing(Patch patch, Locked locked) {
    if (locked == null) return false;
    if (patch.email() != null && !patch.email().equals(locked.email())) return false;
    ObjectNode stored = locked.properties();
    var fields = patch.properties().fields();
    while (fields.hasNext()) {
      var field = fields.next();
      // JsonNode equality is by type and value (1 and 1.0 differ): a doubt means a write.
      if (stored == null || !field.getValue().equals(stored.get(field.getKey()))) return false;
    }
    return true;
  }
}
