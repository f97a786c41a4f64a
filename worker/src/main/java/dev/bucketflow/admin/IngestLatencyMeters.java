package dev.bucketflow.admin;

import dev.bucketflow.ingest.IngestCommitListener;
import dev.bucketflow.ingest.IngestService;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Per-event latencies from signal receipt to commit, as Micrometer timers with client-side
 * percentiles (p50, p90, p99, over a sliding window of about a minute) and a Prometheus histogram:
 *
 * <ul>
 *   <li>{@code bucketflow_event_transition_latency_seconds}: one sample per stored event that
 *       produced at least one recorded join or leave (however many: an event that moves a user in
 *       three buckets is one sample, since the user waited once), from the moment its ingest shard
 *       workflow received the signal ({@code Workflow.currentTimeMillis()} in the signal handler,
 *       carried as {@code PendingEvent.receivedAtMillis}) to the commit of the batch transaction
 *       that wrote the transition. Manual add/remove operations and clock-driven transitions
 *       (reconcile, expiry, backfill) are not events and are not sampled;
 *   <li>{@code bucketflow_event_applied_latency_seconds}: the same span for every stored event
 *       (duplicates and rejections excluded).
 * </ul>
 *
 * <p>Receipt is the Temporal server's clock (workflow time), commit the worker's: on one machine
 * (dev) they agree; across machines clock skew enters the figure, and a negative span (skew) is
 * recorded as zero.
 */
final class IngestLatencyMeters implements IngestCommitListener {

  private final Timer transition;
  private final Timer applied;

  IngestLatencyMeters(MeterRegistry registry) {
    this.transition =
        timer(
            registry,
            "bucketflow_event_transition_latency",
            "signal receipt to commit of the transition, one sample per event that made a join or leave");
    this.applied =
        timer(
            registry,
            "bucketflow_event_applied_latency",
            "signal receipt to commit, one sample per stored event");
  }

  private static Timer timer(MeterRegistry registry, String name, String help) {
    return Timer.builder(name)
        .description(help)
        .publishPercentiles(0.5, 0.9, 0.99)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofMinutes(5))
        .register(registry);
  }

  Timer transition() {
    return transition;
  }

  Timer applied() {
    return applied;
  }

  @Override
  public void committed(IngestService.Applied batch, Instant committedAt) {
    record(transition, batch.transitionReceipts(), committedAt);
    record(applied, batch.appliedReceipts(), committedAt);
  }

  private static void record(Timer timer, List<Instant> receipts, Instant committedAt) {
    long at = committedAt.toEpochMilli();
    for (Instant r : receipts)
      timer.record(Math.max(0, at - r.toEpochMilli()), TimeUnit.MILLISECONDS);
  }
}
