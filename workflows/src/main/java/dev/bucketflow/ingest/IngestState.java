package dev.bucketflow.ingest;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * The ingest workflow's start argument. External clients pass {@code {}}; continue-as-new passes
 * the events not yet applied and the running totals, so nothing is lost across runs.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record IngestState(List<PendingEvent> pending, long applied, long batches, Long lastBatchAtMillis) {

  public static IngestState empty() {
    return new IngestState(List.of(), 0, 0, null);
  }

  public List<PendingEvent> pendingOrEmpty() {
    return pending == null ? List.of() : pending;
  }
}
