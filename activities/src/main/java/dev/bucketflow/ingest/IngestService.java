package dev.bucketflow.ingest;

import static dev.bucketflow.schema.Tables.INGEST_BATCHES;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bucketflow.event.IncomingEvent;
import dev.bucketflow.journeys.JourneyOutbox;
import dev.bucketflow.membership.ContactLocks;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MovedDeadline;
import dev.bucketflow.membership.Transition;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies one ingest batch in one transaction: claim the batch id, validate, lock the contacts,
 * store new events, evaluate memberships, merge properties, record rejections. Plain Java (no
 * Temporal) so the benchmark and the tests drive it directly; {@link IngestActivitiesImpl} is its
 * activity face.
 */
public final class IngestService {

  private static final Logger log = LoggerFactory.getLogger(IngestService.class);

  private final DSLContext dsl;
  private final MembershipEngine membership;
  private final Clock clock;
  private final JourneyOutbox journeyOutbox;
  private final EventStore events = new EventStore();
  private final ContactStore contacts = new ContactStore();
  private final RejectedEventStore rejected = new RejectedEventStore();
  private final ContactOps ops;
  private final EventParser parser;
  private final SpillStore spill;

  /**
   * Test seam: runs inside the batch transaction once a run's contacts are locked and its new
   * events stored, before its memberships are evaluated and written.
   */
  private volatile Consumer<DSLContext> afterEventsStored = tx -> {};

  public IngestService(DSLContext dsl, MembershipEngine membership, Clock clock) {
    this(dsl, membership, null, clock);
  }

  /**
   * @param journeyOutbox records events journeys listen to in the batch transaction; may be null
   */
  public IngestService(
      DSLContext dsl, MembershipEngine membership, JourneyOutbox journeyOutbox, Clock clock) {
    this(dsl, membership, journeyOutbox, clock, new EventParser());
  }

  public IngestService(
      DSLContext dsl,
      MembershipEngine membership,
      JourneyOutbox journeyOutbox,
      Clock clock,
      EventParser parser) {
    this.dsl = dsl;
    this.membership = membership;
    this.journeyOutbox = journeyOutbox;
    this.clock = clock;
    this.parser = parser;
    this.ops = new ContactOps(contacts, membership, journeyOutbox);
    this.spill = new SpillStore(dsl);
  }

  public SpillStore spill() {
    return spill;
  }

  /**
   * Package-private test seam (see {@link #afterEventsStored}); a throwing hook rolls the batch
   * back.
   */
  void afterEventsStored(Consumer<DSLContext> hook) {
    this.afterEventsStored = hook == null ? tx -> {} : hook;
  }

  /**
   * The committed result of a batch, with the transitions it recorded (for dispatch), the
   * fast-expiry deadlines it moved earlier (for the watches, signalled after the commit), and the
   * receipt instants ({@link PendingEvent#receivedAtMillis()}: workflow time of the signal) of the
   * events it stored ({@code appliedReceipts}) and of the stored events that produced at least one
   * recorded transition ({@code transitionReceipts}, each event once), for latency metrics. A
   * replayed batch has none of either.
   */
  public record Applied(
      IngestOutcome outcome,
      List<Transition> transitions,
      List<MovedDeadline> movedDeadlines,
      List<Instant> appliedReceipts,
      List<Instant> transitionReceipts) {}

  public IngestOutcome apply(IngestBatch batch) {
    return applyWithTransitions(batch).outcome();
  }

  /**
   * Applies the batch in one transaction. If that fails with a data error (one event PostgreSQL or
   * the code refuses deterministically, which a retry would only repeat), the batch is applied
   * again item by item, each under its own savepoint: the items that fail are recorded as {@code
   * unprocessable} and the others are applied exactly as the batch would have applied them (a batch
   * equals one-at-a-time application). Transient errors propagate, so the activity retries.
   */
  public Applied applyWithTransitions(IngestBatch batch) {
    return applyWithTransitions(batch, () -> {});
  }

  /**
   * As {@link #applyWithTransitions(IngestBatch)}, calling {@code heartbeat} between the steps of
   * the transaction (per run of events, per item when isolating); if it throws (the attempt was
   * given up), the transaction rolls back.
   */
  public Applied applyWithTransitions(IngestBatch batch, Runnable heartbeat) {
    try {
      return applyWhole(batch, heartbeat);
    } catch (RuntimeException e) {
      if (!DataErrors.isDataError(e)) throw e;
      log.warn(
          "batch {} hit a data error ({}); isolating the offending items",
          batch.batchId(),
          DataErrors.message(e));
      heartbeat.run();
      return applyIsolated(batch, heartbeat);
    }
  }

  private Applied applyWhole(IngestBatch batch, Runnable heartbeat) {
    return inClaimedTransaction(
        batch,
        (tx, tally) -> {
          List<PendingEvent> items = batch.events();
          // A run locks its own users in id order; with a contact operation splitting the batch
          // into
          // runs, all its users are locked first, so the whole transaction still locks in id order.
          if (items.stream().anyMatch(PendingEvent::isContactOp)) lockUsersOf(tx, items);
          // Runs of events are applied together; a contact operation splits them, in stream order.
          List<PendingEvent> run = new ArrayList<>();
          for (int i = 0; i < items.size(); i++) {
            PendingEvent item = items.get(i);
            if (!item.isContactOp()) {
              run.add(item);
              continue;
            }
            applyEvents(tx, batch.batchId() + "#" + i, run, tally);
            heartbeat.run();
            run = new ArrayList<>();
            applyContactOp(tx, item, batch.batchId() + "#" + i, tally);
          }
          applyEvents(tx, batch.batchId(), run, tally);
        });
  }

  /**
   * One item at a time, each in a savepoint (jOOQ nested transaction); see {@link
   * #applyWithTransitions}.
   */
  private Applied applyIsolated(IngestBatch batch, Runnable heartbeat) {
    return inClaimedTransaction(
        batch,
        (tx, tally) -> {
          List<PendingEvent> items = batch.events();
          // Item by item would lock in stream order, and a savepoint rolled back would release its
          // locks: lock every (existing) contact of the batch first, in id order, for the whole
          // batch.
          lockUsersOf(tx, items);
          for (int i = 0; i < items.size(); i++) {
            PendingEvent item = items.get(i);
            String itemId = batch.batchId() + "#" + i;
            Tally one = new Tally();
            heartbeat.run();
            try {
              tx.transaction(
                  nested -> {
                    if (item.isContactOp()) applyContactOp(nested.dsl(), item, itemId, one);
                    else applyEvents(nested.dsl(), itemId, List.of(item), one);
                  });
              tally.add(one);
            } catch (RuntimeException e) {
              if (!DataErrors.isDataError(e)) throw e;
              tally.rejections.add(unprocessable(item, e));
            }
          }
        });
  }

  /**
   * The batch's transaction: claims the batch id (a batch already applied is {@code replayed}),
   * releases the spill segments it names, runs {@code body}, records the rejections.
   */
  private Applied inClaimedTransaction(IngestBatch batch, BiConsumer<DSLContext, Tally> body) {
    return dsl.transactionResult(
        cfg -> {
          DSLContext tx = cfg.dsl();
          if (!claim(tx, batch))
            return new Applied(
                IngestOutcome.replayed(), List.of(), List.of(), List.of(), List.of());
          spill.release(tx, batch.releaseSpillOrEmpty());
          Tally tally = new Tally();
          body.accept(tx, tally);
          rejected.record(tx, tally.rejections);
          return new Applied(
              new IngestOutcome(
                  false,
                  tally.stored,
                  tally.duplicates,
                  tally.rejections.size(),
                  tally.transitions.size(),
                  tally.journeyEvents),
              tally.transitions,
              tally.moved,
              tally.appliedReceipts,
              tally.transitionReceipts);
        });
  }

  private void applyContactOp(DSLContext tx, PendingEvent item, String opKey, Tally tally) {
    ContactOps.Result r = ops.apply(tx, item, opKey, clock.instant());
    r.transition().ifPresent(tally.transitions::add);
    if (r.rejection() != null) tally.rejections.add(r.rejection());
    tally.journeyEvents += r.journeyEvents();
  }

  private static Rejection unprocessable(PendingEvent item, RuntimeException e) {
    JsonNode p = item.payload();
    String userId = p != null && p.path("userId").isTextual() ? p.get("userId").asText() : null;
    String event = p != null && p.path("event").isTextual() ? p.get("event").asText() : item.op();
    log.warn("item of user {} is unprocessable: {}", userId, DataErrors.message(e));
    return EventParser.rejection(
        "unprocessable", "event: " + DataErrors.message(e), userId, event, p);
  }

  /** Running totals of one batch. */
  private static final class Tally {
    int stored;
    int duplicates;
    int journeyEvents;
    final List<Rejection> rejections = new ArrayList<>();
    final List<Transition> transitions = new ArrayList<>();
    final List<MovedDeadline> moved = new ArrayList<>();
    final List<Instant> appliedReceipts = new ArrayList<>();
    final List<Instant> transitionReceipts = new ArrayList<>();

    void add(Tally other) {
      moved.addAll(other.moved);
      appliedReceipts.addAll(other.appliedReceipts);
      transitionReceipts.addAll(other.transitionReceipts);
      stored += other.stored;
      duplicates += other.duplicates;
      journeyEvents += other.journeyEvents;
      rejections.addAll(other.rejections);
      transitions.addAll(other.transitions);
    }
  }

  /**
   * Validates, stores and evaluates a run of events: lock contacts, load state, store, apply,
   * merge.
   */
  private void applyEvents(DSLContext tx, String runId, List<PendingEvent> items, Tally tally) {
    if (items.isEmpty()) return;
    List<IncomingEvent> accepted = new ArrayList<>(items.size());
    List<PendingEvent> acceptedRaw = new ArrayList<>(items.size());
    for (PendingEvent pending : items) {
      EventParser.Parsed parsed = parser.parse(pending);
      if (parsed instanceof EventParser.Accepted a) {
        accepted.add(a.event());
        acceptedRaw.add(pending);
      } else if (parsed instanceof EventParser.Refused r) {
        tally.rejections.add(r.rejection());
      }
    }
    Set<String> users = new LinkedHashSet<>();
    accepted.forEach(e -> users.add(e.userId()));
    Map<String, ContactStore.Locked> locked = contacts.lockAndLoad(tx, users);
    List<IncomingEvent> live = new ArrayList<>(accepted.size());
    for (int i = 0; i < accepted.size(); i++) {
      IncomingEvent e = accepted.get(i);
      if (locked.get(e.userId()).deleted()) {
        tally.rejections.add(
            EventParser.rejection(
                "deleted",
                "userId: contact was deleted",
                e.userId(),
                e.event(),
                acceptedRaw.get(i).payload()));
      } else {
        live.add(e);
      }
    }
    Map<String, MembershipEngine.ContactState> before = new HashMap<>();
    locked.forEach(
        (id, c) -> before.put(id, new MembershipEngine.ContactState(c.properties(), c.email())));
    MembershipEngine.Prepared prepared = membership.prepare(tx, live, before, clock.instant());
    List<IncomingEvent> stored = events.storeNew(tx, live);
    afterEventsStored.accept(tx);
    tally.transitions.addAll(prepared.apply(stored));
    tally.moved.addAll(prepared.movedDeadlines());
    for (IncomingEvent e : stored) tally.appliedReceipts.add(e.receivedAt());
    for (IncomingEvent e : prepared.transitionCauses())
      tally.transitionReceipts.add(e.receivedAt());
    contacts.merge(tx, stored, locked);
    tally.stored += stored.size();
    tally.duplicates += live.size() - stored.size();
    if (journeyOutbox != null) tally.journeyEvents += journeyOutbox.record(tx, runId, stored);
  }

  /**
   * Locks the existing contacts of every valid user id the items name, in id order (contacts
   * created later in the batch are new rows no other transaction can hold). Ids the parser would
   * refuse are left out: they must not fail the batch's statement.
   */
  private static void lockUsersOf(DSLContext tx, List<PendingEvent> items) {
    Set<String> users = new java.util.TreeSet<>();
    for (PendingEvent item : items) {
      JsonNode p = item.payload();
      if (p != null && p.path("userId").isTextual() && EventParser.checkUserId(p, p).isEmpty()) {
        users.add(p.get("userId").textValue());
      }
    }
    ContactLocks.lock(tx, users);
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
