package dev.bucketflow.ingest;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * The ingest workflow's start argument. External clients pass {@code {}}; continue-as-new passes
 * the events not yet applied and the running totals, so nothing is lost across runs. Events that
 * would not fit the byte budget were spilled to PostgreSQL: segments {@code [spillHead, spillTail)}
 * of the shard's sequence, in order, logically after {@code pending} ({@code spilledEvents} counts
 * them for {@code stats}). The state stays small however much is spilled.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record IngestState(
    List<PendingEvent> pending,
    long applied,
    long batches,
    Long lastBatchAtMillis,
    long spillHead,
    long spillTail,
    long spilledEvents) {

  public IngestState(
      List<PendingEvent> pending, long applied, long batches, Long lastBatchAtMillis) {
    this(pending, applied, batches, lastBatchAtMillis, 0, 0, 0);
  }

  public static IngestState empty() {
    return new IngestState(List.of(), 0, 0, null);
  }

  public List<PendingEvent> pendingOrEmpty() {
    return pending == null ? List.of() : pending;
  }
}
