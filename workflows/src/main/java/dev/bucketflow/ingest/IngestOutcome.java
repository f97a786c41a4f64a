package dev.bucketflow.ingest;

/**
 * What one ingest batch did. A replayed batch reports {@code duplicateBatch=true} and zeros. {@code
 * journeyEvents} counts stored events some journey triggers or exits on.
 */
public record IngestOutcome(
    boolean duplicateBatch,
    int stored,
    int duplicates,
    int rejected,
    int transitions,
    int journeyEvents) {

  public static IngestOutcome replayed() {
    return new IngestOutcome(true, 0, 0, 0, 0, 0);
  }

  /** Whether the batch left anything in an outbox to dispatch. */
  public boolean needsDispatch() {
    return transitions > 0 || journeyEvents > 0;
  }
}
