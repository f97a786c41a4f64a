package dev.bucketflow.membership;

import static dev.bucketflow.schema.Tables.CONTACTS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketRegistry;
import dev.bucketflow.bucket.EventSeries;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.db.Json;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jooq.DSLContext;

/**
 * Loads full evaluator states (contact properties + event history) for a set of users, set-based.
 */
public final class UserStates {

  private final EventHistoryLoader history;

  public UserStates(EventHistoryLoader history) {
    this.history = history;
  }

  public Map<String, UserState> load(
      DSLContext tx, Collection<String> users, BucketDefinition bucket, Instant now) {
    Map<String, UserState> out = new HashMap<>();
    if (users.isEmpty()) return out;
    Map<String, Map<String, EventSeries>> series =
        history.load(tx, users, BucketRegistry.widestFiniteWindowByEvent(List.of(bucket)), now);
    Map<String, org.jooq.JSONB> props =
        tx.select(CONTACTS.EXTERNAL_ID, CONTACTS.PROPERTIES)
            .from(CONTACTS)
            .where(CONTACTS.EXTERNAL_ID.in(users))
            .fetchMap(CONTACTS.EXTERNAL_ID, CONTACTS.PROPERTIES);
    for (String user : users) {
      out.put(user, new UserState(Json.object(props.get(user)), series.get(user)));
    }
    loadMemberships(tx, out, bucket.referencedBuckets());
    return out;
  }

  /**
   * Marks each state's active memberships of {@code bucketIds} (what its bucket conditions read).
   */
  public static void loadMemberships(
      DSLContext tx, Map<String, UserState> states, java.util.Set<String> bucketIds) {
    if (bucketIds.isEmpty() || states.isEmpty()) return;
    var m = dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
    tx.select(m.USER_ID, m.BUCKET_ID)
        .from(m)
        .where(
            m.USER_ID
                .in(states.keySet())
                .and(m.BUCKET_ID.in(bucketIds))
                .and(m.STATUS.eq(dev.bucketflow.bucket.MembershipStatus.ACTIVE))
                .and(m.DELETED_AT.isNull()))
        .forEach(r -> states.get(r.value1()).setMember(r.value2(), true));
  }
}
