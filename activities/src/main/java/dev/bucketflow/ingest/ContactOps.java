package dev.bucketflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.journeys.JourneyOutbox;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.Transition;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jooq.DSLContext;

/**
 * The contact operations signalled on an ingest shard: {@code deleteContact}, and {@code
 * addToBucket} / {@code removeFromBucket} for manual buckets. A malformed operation is rejected
 * ({@code invalid_op}) like a bad event, never failing its batch.
 */
final class ContactOps {

  /** What an operation did: at most one transition, or a rejection. */
  record Result(Optional<Transition> transition, Rejection rejection, int journeyEvents) {}

  private final ContactStore contacts;
  private final MembershipEngine membership;
  private final JourneyOutbox journeyOutbox;

  ContactOps(ContactStore contacts, MembershipEngine membership, JourneyOutbox journeyOutbox) {
    this.contacts = contacts;
    this.membership = membership;
    this.journeyOutbox = journeyOutbox;
  }

  Result apply(DSLContext tx, PendingEvent op, String opKey, Instant now) {
    JsonNode p = op.payload();
    Optional<Rejection> badUser = EventParser.checkUserId(p, p);
    if (badUser.isPresent()) {
      Rejection r = badUser.get();
      return new Result(
          Optional.empty(),
          new Rejection("invalid_op", r.detail(), r.userId(), op.op(), r.payload()),
          0);
    }
    String userId = text(p, "userId");
    if (PendingEvent.DELETE_CONTACT.equals(op.op())) {
      contacts.lockAndLoad(tx, List.of(userId));
      contacts.delete(tx, userId, now);
      int exits = journeyOutbox == null ? 0 : journeyOutbox.recordDeletion(tx, userId, opKey);
      return new Result(Optional.empty(), null, exits);
    }
    String bucketId = text(p, "bucketId");
    Optional<BucketDefinition> bucket =
        bucketId == null ? Optional.empty() : membership.catalog().byId(bucketId);
    if (bucket.isEmpty()) return rejected(op, "bucketId: no bucket '" + bucketId + "'", userId);
    if (!bucket.get().manual())
      return rejected(op, "bucketId: '" + bucketId + "' is not a manual bucket", userId);
    Map<String, ContactStore.Locked> locked = contacts.lockAndLoad(tx, List.of(userId));
    if (locked.get(userId).deleted()) {
      return new Result(
          Optional.empty(),
          new Rejection("deleted", "userId: contact was deleted", userId, op.op(), payload(op)),
          0);
    }
    Optional<Transition> t =
        PendingEvent.ADD_TO_BUCKET.equals(op.op())
            ? membership.joinManually(tx, bucket.get(), userId, locked.get(userId).email(), now)
            : membership.leaveManually(tx, bucket.get(), userId, now);
    return new Result(t, null, 0);
  }

  private static Result rejected(PendingEvent op, String detail, String userId) {
    return new Result(
        Optional.empty(), new Rejection("invalid_op", detail, userId, op.op(), payload(op)), 0);
  }

  private static String payload(PendingEvent op) {
    return EventShape.render(op.payload(), EventParser.KEPT_PAYLOAD_CHARS);
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node == null ? null : node.get(field);
    return v != null && v.isTextual() ? v.asText() : null;
  }
}
