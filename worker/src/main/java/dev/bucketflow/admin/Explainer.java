package dev.bucketflow.admin;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.USER_EVENT_ROLLUPS;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.CompositeCriterion;
import dev.bucketflow.bucket.Criterion;
import dev.bucketflow.bucket.Evaluator;
import dev.bucketflow.bucket.EventCriterion;
import dev.bucketflow.bucket.EventSeries;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.NextFlip;
import dev.bucketflow.bucket.PropertyCriterion;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.db.Json;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.UserStates;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /api/buckets/{id}/explain/{userId}}: why a user is (not) in a bucket, now. The user's
 * state is loaded by the same {@link UserStates} loader the membership writers use and every node
 * of the criteria tree is decided by {@link Evaluator#matches}, the evaluator ingest applies; each
 * node carries its {@code result} and what was {@code observed}:
 *
 * <ul>
 *   <li>property: {@code present} and the {@code value} (JSON, null when absent);
 *   <li>event: {@code count} inside the window (all time without one), {@code allTimeCount}, {@code
 *       windowStart} (exclusive; null without a window) and {@code newestAt}, the newest occurrence
 *       of the event at all;
 *   <li>composite: its {@code conditions}, each explained.
 * </ul>
 *
 * Reads only. {@code member} is whether an active membership row exists, which can differ from
 * {@code matches} (entry limits, minDwell, a reconcile not yet run, a disabled bucket).
 */
final class Explainer {

  private final AdminContext ctx;
  private final UserStates states = new UserStates(new EventHistoryLoader());

  Explainer(AdminContext ctx) {
    this.ctx = ctx;
  }

  ObjectNode explain(BucketDefinition bucket, String userId) {
    var dsl = ctx.dsl();
    Instant now = ctx.clock().instant();
    var contact =
        dsl.select(CONTACTS.DELETED_AT)
            .from(CONTACTS)
            .where(CONTACTS.EXTERNAL_ID.eq(userId))
            .fetchOptional();
    if (contact.isEmpty()) {
      throw ApiError.notFound(
          "unknown_user", "userId " + ApiError.quote(userId) + ": no contact with this id");
    }
    var m = BUCKET_MEMBERSHIPS;
    var active =
        dsl.select(m.EXPIRES_AT, m.ENTERED_AT, m.ENTRY_COUNT)
            .from(m)
            .where(
                m.USER_ID
                    .eq(userId)
                    .and(m.BUCKET_ID.eq(bucket.id()))
                    .and(m.STATUS.eq(MembershipStatus.ACTIVE))
                    .and(m.DELETED_AT.isNull()))
            .fetchOptional();
    ObjectNode out = Json.MAPPER.createObjectNode();
    out.put("bucketId", bucket.id());
    out.put("userId", userId);
    out.put("evaluatedAt", now.toString());
    out.put("member", active.isPresent());
    out.put("deleted", contact.get().value1() != null);
    putTime(out, "enteredAt", active.map(r -> r.value2()).orElse(null));
    putTime(out, "expiresAt", active.map(r -> r.value1()).orElse(null));
    if (bucket.criteria() == null) {
      out.putNull("matches");
      out.putNull("nextFlipAt");
      out.putNull("criteria");
      out.put(
          "note", "manual bucket: membership is set by hand, there are no criteria to evaluate");
      return out;
    }
    UserState state = states.load(dsl, List.of(userId), bucket, now).get(userId);
    // The rollup keeps the last occurrence after retention dropped the raw row.
    var r = USER_EVENT_ROLLUPS;
    Map<String, Instant> newest =
        dsl.select(r.EVENT, r.LAST_AT)
            .from(r)
            .where(r.USER_ID.eq(userId).and(r.EVENT.in(bucket.referencedEvents())))
            .fetchMap(r.EVENT, r.LAST_AT);
    boolean matches = Evaluator.matches(bucket.criteria(), state, now);
    out.put("matches", matches);
    putTime(
        out,
        "nextFlipAt",
        matches ? NextFlip.deadline(bucket.criteria(), state, now).orElse(null) : null);
    out.set("criteria", node(bucket.criteria(), state, now, newest));
    return out;
  }

  private static ObjectNode node(
      Criterion criterion, UserState state, Instant now, Map<String, Instant> newest) {
    ObjectNode out = BucketJson.toJson(criterion);
    out.put("result", Evaluator.matches(criterion, state, now));
    if (criterion instanceof PropertyCriterion p) {
      JsonNode value = state.property(p.property());
      ObjectNode observed = out.putObject("observed");
      observed.put("present", value != null);
      observed.set("value", value == null ? Json.MAPPER.nullNode() : value.deepCopy());
    } else if (criterion instanceof EventCriterion e) {
      EventSeries series = state.events(e.eventName());
      Instant windowStart = e.within() == null ? null : now.minus(e.within());
      ObjectNode observed = out.putObject("observed");
      observed.put("count", series.countSince(windowStart));
      observed.put("allTimeCount", series.allTimeCount());
      putTime(observed, "windowStart", windowStart);
      putTime(observed, "newestAt", newest.get(e.eventName()));
    } else if (criterion instanceof dev.bucketflow.bucket.BucketCriterion b) {
      out.putObject("observed").put("member", state.isMember(b.bucketId()));
    } else if (criterion instanceof CompositeCriterion c) {
      ArrayNode children = out.putArray("conditions");
      c.conditions().forEach(child -> children.add(node(child, state, now, newest)));
    }
    return out;
  }

  private static void putTime(ObjectNode out, String field, Instant value) {
    if (value == null) out.putNull(field);
    else out.put(field, value.toString());
  }
}
