package dev.bucketflow.ingest;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * The ingest workflow's start argument. External clients pass {@code {}}; continue-as-new passes
 * the events not yet applied and the running totals, so nothing is lost across runs. Events that
 * would not fit the byte budget were spilled to PostgreSQL: {@code spilled} lists their segments,
 * in order, logically after {@code pending} ({@code spilledEvents} counts them for {@code stats}).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record IngestState(List<PendingEvent> pending, long applied, long batches, Long lastBatchAtMillis,
    List<String> spilled, long spilledEvents) {

  public IngestState(List<PendingEvent> pending, long applied, long batches, Long lastBatchAtMillis) {
    this(pending, applied, batches, lastBatchAtMillis, List.of(), 0);
  }

  public static IngestState empty() {
    return new IngestState(List.of(), 0, 0, null);
  }

  public List<PendingEvent> pendingOrEmpty() {
    return pending == null ? List.of() : pending;
  }

  public List<String> spilledOrEmpty() {
    return spilled == null ? List.of() : spilled;
  }
}
