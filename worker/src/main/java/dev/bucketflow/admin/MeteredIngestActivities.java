package dev.bucketflow.admin;

import dev.bucketflow.ingest.IngestActivities;
import dev.bucketflow.ingest.IngestBatch;
import dev.bucketflow.ingest.IngestOutcome;
import dev.bucketflow.ingest.SpillSegment;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The worker's ingest activities, counted: applied (stored) and duplicate events per committed
 * batch, and every batch's latency (successful or not). Behaviour is the delegate's, unchanged.
 */
final class MeteredIngestActivities implements IngestActivities {

  private final IngestActivities delegate;
  private final Counter applied;
  private final Counter duplicates;
  private final Counter rejected;
  private final Timer batches;

  MeteredIngestActivities(IngestActivities delegate, MeterRegistry registry) {
    this.delegate = delegate;
    this.applied =
        Counter.builder("bucketflow_events_applied")
            .description("events stored and applied")
            .register(registry);
    this.duplicates =
        Counter.builder("bucketflow_events_duplicate")
            .description("events skipped as repeats of an idempotency key")
            .register(registry);
    this.rejected =
        Counter.builder("bucketflow_ingest_rejected")
            .description(
                "events refused by ingest batches (by reason: bucketflow_events_rejected_total)")
            .register(registry);
    this.batches =
        Timer.builder("bucketflow_ingest_batch")
            .description("ingest batch latency")
            .publishPercentileHistogram()
            .register(registry);
  }

  @Override
  public IngestOutcome ingest(IngestBatch batch) {
    long start = System.nanoTime();
    try {
      IngestOutcome outcome = delegate.ingest(batch);
      applied.increment(outcome.stored());
      duplicates.increment(outcome.duplicates());
      rejected.increment(outcome.rejected());
      return outcome;
    } finally {
      batches.record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public void spill(SpillSegment segment) {
    delegate.spill(segment);
  }

  @Override
  public SpillSegment loadSpill(String segmentId) {
    return delegate.loadSpill(segmentId);
  }
}
