package dev.bucketflow.reconcile;

import dev.bucketflow.activity.Heartbeat;
import dev.bucketflow.dispatch.DeliveryWake;
import dev.bucketflow.event.StorageMaintenance;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Activity face of {@link ReconcileService}, and the delivery backstop: each tick wakes (and, on a
 * fresh server, starts) every shard's delivery workflow.
 */
public final class ReconcileActivitiesImpl implements ReconcileActivities {

  private final ReconcileService service;
  private final DeliveryWake delivery;
  private final PendingOutbox pending;
  private final ReconcileService.Budget budget;
  private final Supplier<StorageMaintenance> storage;

  /** No event-storage upkeep: for tests of the sweep alone. */
  static final Supplier<StorageMaintenance> NO_STORAGE =
      () -> new StorageMaintenance(List.of(), List.of(), 0, 0, 0, List.of());

  /** What is still to deliver, for the tick's report. */
  @FunctionalInterface
  public interface PendingOutbox {
    int count();
  }

  public ReconcileActivitiesImpl(
      ReconcileService service, DeliveryWake delivery, PendingOutbox pending) {
    this(service, delivery, pending, ReconcileService.Budget.DEFAULT);
  }

  /**
   * @param budget how much one {@link #sweepBucketPart} call may do before it returns its cursor
   */
  public ReconcileActivitiesImpl(
      ReconcileService service,
      DeliveryWake delivery,
      PendingOutbox pending,
      ReconcileService.Budget budget) {
    this(service, delivery, pending, budget, NO_STORAGE);
  }

  /**
   * @param storage one pass of event-storage maintenance ({@code EventPartitions::maintain})
   */
  public ReconcileActivitiesImpl(
      ReconcileService service,
      DeliveryWake delivery,
      PendingOutbox pending,
      ReconcileService.Budget budget,
      Supplier<StorageMaintenance> storage) {
    this.service = service;
    this.delivery = delivery;
    this.pending = pending;
    this.budget = budget;
    this.storage = storage;
  }

  @Override
  public List<String> bucketsToSweep(String onlyBucket) {
    return service.bucketsToSweep(onlyBucket);
  }

  @Override
  public SweepProgress sweepBucketPart(SweepStep step) {
    // A retried attempt goes on from its predecessor's last heartbeat (chunks committed, counted).
    SweepProgress from =
        Heartbeat.lastDetails(SweepProgress.class)
            .orElseGet(() -> SweepProgress.start(step.bucketId(), step.from()));
    Consumer<SweepProgress> heartbeat = Heartbeat.withDetails();
    heartbeat.accept(from);
    SweepProgress progress = service.sweep(step.bucketId(), from, budget, heartbeat);
    // Transitions just written reach their targets now rather than at the delivery poll.
    BucketSweep counts = progress.counts();
    if (counts.clockLeaves() + counts.maxDwellLeaves() + counts.absenceJoins() > 0) delivery.all();
    return progress;
  }

  @Override
  public BucketSweep sweepBucket(String bucketId) {
    Runnable heartbeat = Heartbeat.current();
    Consumer<SweepProgress> progress = Heartbeat.withDetails();
    SweepProgress from =
        Heartbeat.lastDetails(SweepProgress.class)
            .orElseGet(() -> SweepProgress.start(bucketId, SweepCursor.start()));
    progress.accept(from);
    BucketSweep sweep =
        service.sweep(bucketId, from, ReconcileService.Budget.UNBOUNDED, progress).counts();
    // Transitions just written reach their targets now rather than at the next tick.
    if (sweep.clockLeaves() + sweep.maxDwellLeaves() + sweep.absenceJoins() > 0) delivery.all();
    return sweep;
  }

  @Override
  public int redispatchOutbox() {
    Heartbeat.current().run();
    delivery.all();
    return pending.count();
  }

  @Override
  public StorageMaintenance maintainEventStorage() {
    Heartbeat.current().run();
    return storage.get();
  }
}
