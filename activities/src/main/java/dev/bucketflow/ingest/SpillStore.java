package dev.bucketflow.ingest;

import static dev.bucketflow.schema.Tables.INGEST_SPILL;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import dev.bucketflow.db.Json;
import java.io.IOException;
import java.util.List;
import org.jooq.DSLContext;

/**
 * {@code ingest_spill}: pending events a shard could not carry in its continue-as-new input. Stored
 * as the JSON bytes Jackson writes (bytea: whatever the events hold, the row is storable).
 */
public final class SpillStore {

  private static final TypeReference<List<PendingEvent>> EVENTS = new TypeReference<>() {};

  private final DSLContext dsl;

  public SpillStore(DSLContext dsl) {
    this.dsl = dsl;
  }

  /**
   * Idempotent by segment id: a retried spill writes the same events again. An upsert, not
   * insert-or-ignore, because a shard chain started afresh (after a terminate) reuses sequence
   * numbers: its write must replace any stale segment left by the old chain.
   */
  public void store(String workflowId, SpillSegment segment) {
    byte[] bytes;
    try {
      bytes = Json.MAPPER.writeValueAsBytes(segment.events());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("spill segment " + segment.id() + " is not serializable", e);
    }
    dsl.insertInto(
            INGEST_SPILL,
            INGEST_SPILL.SEGMENT_ID,
            INGEST_SPILL.WORKFLOW_ID,
            INGEST_SPILL.EVENT_COUNT,
            INGEST_SPILL.EVENTS)
        .values(segment.id(), workflowId, segment.events().size(), bytes)
        .onConflict(INGEST_SPILL.SEGMENT_ID)
        .doUpdate()
        .set(INGEST_SPILL.EVENTS, bytes)
        .set(INGEST_SPILL.EVENT_COUNT, segment.events().size())
        .set(INGEST_SPILL.WORKFLOW_ID, workflowId)
        .execute();
  }

  public SpillSegment load(String segmentId, int shard) {
    byte[] bytes =
        dsl.select(INGEST_SPILL.EVENTS)
            .from(INGEST_SPILL)
            .where(INGEST_SPILL.SEGMENT_ID.eq(segmentId))
            .fetchOne(INGEST_SPILL.EVENTS);
    if (bytes == null) {
      // Only a release by a later batch deletes a segment, and that batch follows this load.
      throw new IllegalStateException("spill segment " + segmentId + " is missing");
    }
    try {
      return new SpillSegment(segmentId, shard, Json.MAPPER.readValue(bytes, EVENTS));
    } catch (IOException e) {
      throw new IllegalStateException("spill segment " + segmentId + " is unreadable", e);
    }
  }

  /** In the batch transaction: segments whose events the workflow already holds. */
  public void release(DSLContext tx, List<String> segmentIds) {
    if (segmentIds.isEmpty()) return;
    tx.deleteFrom(INGEST_SPILL).where(INGEST_SPILL.SEGMENT_ID.in(segmentIds)).execute();
  }
}
