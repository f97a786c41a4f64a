package dev.bucketflow.ingest;

import static dev.bucketflow.schema.Tables.INGEST_BATCHES;

import java.util.ArrayList;
import java.util.List;
import org.jooq.DSLContext;

/**
 * Applies one ingest batch in one transaction. Plain Java (no Temporal) so the benchmark and the
 * tests can drive it directly; {@link IngestActivitiesImpl} is its activity face.
 */
public final class IngestService {

  private final DSLContext dsl;
  private final EventStore events = new EventStore();
  private final ContactStore contacts = new ContactStore();
  private final RejectedEventStore rejected = new RejectedEventStore();

  public IngestService(DSLContext dsl) {
    this.dsl = dsl;
  }

  public IngestOutcome apply(IngestBatch batch) {
    return dsl.transactionResult(cfg -> {
      DSLContext tx = cfg.dsl();
      if (!claim(tx, batch)) return IngestOutcome.replayed();
      List<IncomingEvent> accepted = new ArrayList<>(batch.events().size());
      List<Rejection> rejections = new ArrayList<>();
      for (PendingEvent pending : batch.events()) {
        EventParser.Parsed parsed = EventParser.parse(pending);
        if (parsed.accepted() != null) accepted.add(parsed.accepted());
        else rejections.add(parsed.rejected());
      }
      List<IncomingEvent> stored = events.storeNew(tx, accepted);
      contacts.merge(tx, stored);
      rejected.record(tx, rejections);
      return new IngestOutcome(false, stored.size(), accepted.size() - stored.size(), rejections.size(), 0);
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
