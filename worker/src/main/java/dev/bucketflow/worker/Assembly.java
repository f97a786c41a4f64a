package dev.bucketflow.worker;

import dev.bucketflow.backfill.BackfillService;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketRegistry;
import dev.bucketflow.dispatch.DeliverySettings;
import dev.bucketflow.dispatch.DeliveryWake;
import dev.bucketflow.dispatch.DeliveryYield;
import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.dispatch.TemporalDeliveryWake;
import dev.bucketflow.dispatch.TransitionStream;
import dev.bucketflow.dispatch.TransitionTarget;
import dev.bucketflow.event.EventPartitions;
import dev.bucketflow.event.EventRetention;
import dev.bucketflow.expiry.ExpiryArming;
import dev.bucketflow.expiry.ExpiryService;
import dev.bucketflow.ingest.EventParser;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.journey.JourneyDefinition;
import dev.bucketflow.journey.JourneyRegistry;
import dev.bucketflow.journeys.JourneyActivitiesImpl;
import dev.bucketflow.journeys.JourneyOutbox;
import dev.bucketflow.journeys.JourneyRouter;
import dev.bucketflow.journeys.JourneyTarget;
import dev.bucketflow.journeys.TableEmailSender;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EnabledSwitch;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import dev.bucketflow.posthog.PostHogMirror;
import dev.bucketflow.posthog.PostHogSettings;
import dev.bucketflow.reconcile.ReconcileService;
import io.temporal.client.WorkflowClient;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.jooq.DSLContext;

/**
 * The one composition root: the worker, the commands and the benchmarks get their services from
 * here, so each part is built one way. {@link #offline} is the membership pipeline without Temporal
 * (commands, benchmarks); {@link #online} adds what reaches Temporal and the targets (the worker).
 */
final class Assembly {

  private Assembly() {}

  /**
   * The membership pipeline on a database, without Temporal: nothing is delivered, no generic
   * events.
   */
  record Offline(
      BucketCatalog catalog,
      UserStates states,
      TransitionWriter transitions,
      MembershipEngine membership,
      IngestService ingest,
      BackfillService backfill,
      ReconcileService reconcile) {}

  static Offline offline(
      DSLContext dsl,
      List<BucketDefinition> buckets,
      Duration enabledSwitchTtl,
      Clock clock,
      int chunkSize) {
    return offline(
        dsl, buckets, enabledSwitchTtl, clock, chunkSize, ReconcileService.DEFAULT_PARALLELISM);
  }

  /**
   * @param reconcileParallelism clock-leave chunks a sweep runs at once (the worker's {@code
   *     --reconcile-parallelism})
   */
  static Offline offline(
      DSLContext dsl,
      List<BucketDefinition> buckets,
      Duration enabledSwitchTtl,
      Clock clock,
      int chunkSize,
      int reconcileParallelism) {
    BucketCatalog catalog =
        new BucketCatalog(
            new BucketRegistry(buckets), new EnabledSwitch(dsl, enabledSwitchTtl, clock));
    EventHistoryLoader history = new EventHistoryLoader();
    UserStates states = new UserStates(history);
    TransitionWriter transitions = TransitionWriter.withoutGenericEvents();
    MembershipEngine membership =
        new MembershipEngine(catalog, new MembershipStore(), history, transitions);
    // No fast-expiry arming offline: there is no Temporal to start watches on (the cron sweep is
    // the backstop).
    return new Offline(
        catalog,
        states,
        transitions,
        membership,
        new IngestService(dsl, membership, clock),
        new BackfillService(dsl, catalog, states, transitions, clock, chunkSize),
        new ReconcileService(
            dsl, catalog, states, transitions, clock, chunkSize, null, reconcileParallelism));
  }

  /** Event-storage upkeep for the commands and benchmarks, retention from the environment. */
  static EventPartitions eventStorage(DSLContext dsl, List<BucketDefinition> buckets, Clock clock) {
    return EventPartitions.forBuckets(dsl, clock, EventRetention.fromEnv(System.getenv()), buckets);
  }

  /** Everything the worker registers: services, targets, delivery. */
  record Online(
      BucketCatalog catalog,
      MembershipEngine membership,
      IngestService ingest,
      JourneyOutbox journeyOutbox,
      JourneyActivitiesImpl journeyActivities,
      ExpiryArming arming,
      PostHogMirror postHog,
      OutboxDispatcher dispatcher,
      DeliveryYield deliveryYield,
      DeliveryWake wake,
      ReconcileService reconcile,
      ExpiryService expiry,
      BackfillService backfill,
      EventPartitions eventStorage) {}

  static Online online(
      WorkerConfig config,
      DSLContext dsl,
      WorkflowClient client,
      List<BucketDefinition> buckets,
      List<JourneyDefinition> journeyDefinitions,
      PostHogSettings postHogSettings,
      Clock clock) {
    BucketCatalog catalog =
        new BucketCatalog(
            new BucketRegistry(buckets), new EnabledSwitch(dsl, config.enabledSwitchTtl(), clock));
    EventHistoryLoader history = new EventHistoryLoader();
    UserStates states = new UserStates(history);
    JourneyRegistry journeys = new JourneyRegistry(journeyDefinitions);
    // The generic bucket:entered / bucket:left events are written only when a journey binds to
    // them.
    JourneyRouter router = new JourneyRouter(dsl, journeys, client, config.taskQueue(), clock);
    JourneyOutbox journeyOutbox = new JourneyOutbox(router, config.shards());
    // Dwell events reach journeys through the journey outbox, like any event.
    TransitionWriter transitions =
        new TransitionWriter(
            journeys::wantsGenericTransition, config.shards(), journeyOutbox::record);
    DeliverySettings delivery = config.delivery();
    DeliveryWake wake =
        new TemporalDeliveryWake(client, config.taskQueue(), config.shards(), delivery.poll());
    ExpiryArming arming = new ExpiryArming(dsl, catalog, client, config.taskQueue());
    // Records the wanted state only; PostHog itself is called by the pass's mirror step.
    PostHogMirror postHog =
        new PostHogMirror(dsl, catalog, postHogSettings, delivery, clock, config.shards());
    List<TransitionTarget> targets = List.of(arming, new JourneyTarget(router, catalog), postHog);
    // One per worker: its ingest activities mark their batches, its delivery passes yield to them.
    DeliveryYield deliveryYield = new DeliveryYield(delivery.yieldToIngest());
    OutboxDispatcher dispatcher =
        new OutboxDispatcher(
            dsl,
            List.of(new TransitionStream(targets), journeyOutbox),
            List.of(postHog),
            delivery,
            clock,
            deliveryYield);
    MembershipEngine membership =
        new MembershipEngine(catalog, new MembershipStore(), history, transitions);
    IngestService ingest =
        new IngestService(
            dsl, membership, journeyOutbox, clock, new EventParser(config.maxFutureSkew()));
    return new Online(
        catalog,
        membership,
        ingest,
        journeyOutbox,
        new JourneyActivitiesImpl(dsl, new TableEmailSender(dsl), clock),
        arming,
        postHog,
        dispatcher,
        deliveryYield,
        wake,
        new ReconcileService(
            dsl,
            catalog,
            states,
            transitions,
            clock,
            config.reconcileChunk(),
            arming,
            config.reconcileChunksAtOnce()),
        new ExpiryService(dsl, catalog, states, transitions, clock),
        new BackfillService(
            dsl, catalog, states, transitions, clock, config.reconcileChunk(), arming),
        EventPartitions.forBuckets(dsl, clock, config.eventRetention(), buckets));
  }
}
