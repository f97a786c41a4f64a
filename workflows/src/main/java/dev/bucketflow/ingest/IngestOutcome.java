package dev.bucketflow.ingest;

/** What one ingest batch did. A replayed batch reports {@code duplicateBatch=true} and zeros. */
public record IngestOutcome(
    boolean duplicateBatch, int stored, int duplicates, int rejected, int transitions) {

  public static IngestOutcome replayed() {
    return new IngestOutcome(true, 0, 0, 0, 0);
  }
}
