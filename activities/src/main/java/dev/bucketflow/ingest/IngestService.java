package dev.bucketflow.ingest;

import static dev.bucketflow.schema.Tables.INGEST_BATCHES;

import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.Transition;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jooq.DSLContext;

/**
 * Applies one ingest batch in one transaction: claim the batch id, validate, lock the contacts,
 * store new events, evaluate memberships, merge properties, record rejections. Plain Java (no
 * Temporal) so the benchmark and the tests drive it directly; {@link IngestActivitiesImpl} is its
 * activity face.
 */
public final class IngestService {

  private final DSLContext dsl;
  private final MembershipEngine membership;
  private final Clock clock;
  private final EventStore events = new EventStore();
  private final ContactStore contacts = new ContactStore();
  private final RejectedEventStore rejected = new RejectedEventStore();

  public IngestService(DSLContext dsl, MembershipEngine membership, Clock clock) {
    this.dsl = dsl;
    this.membership = membership;
    this.clock = clock;
  }

  /** The committed result of a batch, with the transitions it recorded (for dispatch). */
  public record Applied(IngestOutcome outcome, List<Transition> transitions) {}

  public IngestOutcome apply(IngestBatch batch) {
    return applyWithTransitions(batch).outcome();
  }

  public Applied applyWithTransitions(IngestBatch batch) {
    return dsl.transactionResult(cfg -> {
      DSLContext tx = cfg.dsl();
      if (!claim(tx, batch)) return new Applied(IngestOutcome.replayed(), List.of());
      List<IncomingEvent> accepted = new ArrayList<>(batch.events().size());
      List<PendingEvent> acceptedRaw = new ArrayList<>(batch.events().size());
      List<Rejection> rejections = new ArrayList<>();
      for (PendingEvent pending : batch.events()) {
        EventParser.Parsed parsed = EventParser.parse(pending);
        if (parsed.accepted() != null) {
          accepted.add(parsed.accepted());
          acceptedRaw.add(pending);
        } else {
          rejections.add(parsed.rejected());
        }
      }
      Set<String> users = new LinkedHashSet<>();
      accepted.forEach(e -> users.add(e.userId()));
      Map<String, ContactStore.Locked> locked = contacts.lockAndLoad(tx, users);
      List<IncomingEvent> live = new ArrayList<>(accepted.size());
      for (int i = 0; i < accepted.size(); i++) {
        IncomingEvent e = accepted.get(i);
        if (locked.get(e.userId()).deleted()) {
          rejections.add(new Rejection("deleted", "userId: contact was deleted", e.userId(), e.event(),
              acceptedRaw.get(i).payload().toString()));
        } else {
          live.add(e);
        }
      }
      Map<String, MembershipEngine.ContactState> before = new HashMap<>();
      locked.forEach((id, c) -> before.put(id, new MembershipEngine.ContactState(c.properties(), c.email())));
      MembershipEngine.Prepared prepared = membership.prepare(tx, live, before, clock.instant());
      List<IncomingEvent> stored = events.storeNew(tx, live);
      List<Transition> transitions = prepared.apply(stored);
      contacts.merge(tx, stored);
      rejected.record(tx, rejections);
      return new Applied(
          new IngestOutcome(false, stored.size(), live.size() - stored.size(), rejections.size(), transitions.size()),
          transitions);
    });
  }

  /** Records the batch id; false when a previous attempt already committed this batch. */
  private static boolean claim(DSLContext tx, IngestBatch batch) {
    return tx.insertInto(INGEST_BATCHES, INGEST_BATCHES.BATCH_ID, INGEST_BATCHES.EVENT_COUNT)
            .values(batch.batchId(), batch.events().size())
            .onConflictDoNothing()
            .execute()
        == 1;
  }
}
