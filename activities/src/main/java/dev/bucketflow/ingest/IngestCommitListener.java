package dev.bucketflow.ingest;

import java.time.Instant;

/**
 * Told by {@link IngestActivitiesImpl}, right after an ingest batch's transaction committed, what
 * it committed and when: the receipt instants in {@link IngestService.Applied} against {@code
 * committedAt} give the event→applied and event→transition latencies. Called on the activity's
 * thread, once per committed attempt (never for a replayed batch, whose committing attempt already
 * reported, or lost the report by dying after the commit); must be quick and must not throw.
 */
@FunctionalInterface
public interface IngestCommitListener {

  IngestCommitListener NONE = (applied, committedAt) -> {};

  void committed(IngestService.Applied applied, Instant committedAt);
}
