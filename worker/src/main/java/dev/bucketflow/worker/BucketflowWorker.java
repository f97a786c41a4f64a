package dev.bucketflow.worker;

import com.zaxxer.hikari.HikariDataSource;
import dev.bucketflow.backfill.BackfillActivitiesImpl;
import dev.bucketflow.backfill.BackfillRequest;
import dev.bucketflow.backfill.BackfillService;
import dev.bucketflow.backfill.BackfillWorkflow;
import dev.bucketflow.backfill.BackfillWorkflowImpl;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.db.Database;
import dev.bucketflow.delivery.DeliveryWorkflowImpl;
import dev.bucketflow.dispatch.DeliveryActivitiesImpl;
import dev.bucketflow.dispatch.DeliveryWake;
import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.expiry.ExpiryActivitiesImpl;
import dev.bucketflow.expiry.ExpiryArming;
import dev.bucketflow.expiry.ExpiryService;
import dev.bucketflow.expiry.ExpiryWorkflowImpl;
import dev.bucketflow.ingest.EventIngestWorkflow;
import dev.bucketflow.ingest.EventIngestWorkflowImpl;
import dev.bucketflow.ingest.IngestActivities;
import dev.bucketflow.ingest.IngestActivitiesImpl;
import dev.bucketflow.ingest.IngestCommitListener;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.journey.JourneyDefinition;
import dev.bucketflow.journey.JourneyRegistry;
import dev.bucketflow.journeys.JourneyActivitiesImpl;
import dev.bucketflow.journeys.WinbackJourney;
import dev.bucketflow.journeys.WinbackJourneyImpl;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.posthog.PostHogMirror;
import dev.bucketflow.posthog.PostHogSettings;
import dev.bucketflow.reconcile.ReconcileActivitiesImpl;
import dev.bucketflow.reconcile.ReconcileRequest;
import dev.bucketflow.reconcile.ReconcileService;
import dev.bucketflow.reconcile.ReconcileWorkflow;
import dev.bucketflow.reconcile.ReconcileWorkflowImpl;
import io.temporal.api.workflowservice.v1.GetSystemInfoRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerOptions;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one worker bootstrap: loads definitions, migrates, wires services into activities and
 * workflows, registers the reconcile cron, and starts polling. Nothing else builds these parts.
 */
public final class BucketflowWorker implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(BucketflowWorker.class);

  private final WorkerConfig config;
  private final WorkflowServiceStubs service;
  private final HikariDataSource dataSource;
  private final DSLContext dsl;
  private final WorkflowClient client;
  private final WorkerFactory factory;
  private final Clock clock = Clock.systemUTC();
  private final BucketCatalog catalog;
  private final MembershipEngine membership;
  private final OutboxDispatcher dispatcher;
  private final ReconcileService reconcile;
  private final ExpiryService expiry;
  private final ExpiryArming arming;
  private final BackfillService backfill;
  private final dev.bucketflow.event.EventPartitions eventStorage;
  private java.time.Duration stickyTimeout;
  private WorkerOptions workerOptions;

  /** Journey workflow types this worker implements (journeys on its queue may only use these). */
  static final Set<String> JOURNEY_TYPES = Set.of(WinbackJourney.TYPE);

  private final IngestService ingest;
  private final PostHogMirror postHog;
  private final DeliveryWake wake;
  private final JourneyRegistry journeys;
  private final JourneyActivitiesImpl journeyActivities;
  private final dev.bucketflow.dispatch.DeliveryYield deliveryYield;

  private BucketflowWorker(
      WorkerConfig config,
      WorkflowServiceStubs service,
      HikariDataSource dataSource,
      List<BucketDefinition> buckets,
      List<JourneyDefinition> journeyDefinitions) {
    this.config = config;
    this.service = service;
    this.dataSource = dataSource;
    this.dsl = Database.dsl(dataSource);
    // Search attributes and summaries for the Web UI, set on every start this client makes.
    this.client =
        Temporal.client(
            service,
            config.namespace(),
            new dev.bucketflow.admin.VisibilityInterceptor(
                dev.bucketflow.admin.Visibility.register(service, config.namespace())));
    this.factory = WorkerFactory.newInstance(client);
    Assembly.Online parts =
        Assembly.online(
            config,
            dsl,
            client,
            buckets,
            journeyDefinitions,
            PostHogSettings.fromEnv(System.getenv()),
            clock);
    this.catalog = parts.catalog();
    this.membership = parts.membership();
    this.ingest = parts.ingest();
    this.journeyActivities = parts.journeyActivities();
    this.arming = parts.arming();
    this.postHog = parts.postHog();
    this.dispatcher = parts.dispatcher();
    this.deliveryYield = parts.deliveryYield();
    this.wake = parts.wake();
    this.reconcile = parts.reconcile();
    this.expiry = parts.expiry();
    this.backfill = parts.backfill();
    this.eventStorage = parts.eventStorage();
    // The admin API reads the same definitions (an immutable registry of them).
    this.journeys = new JourneyRegistry(journeyDefinitions);
  }

  /** Opens the database, migrates it, registers everything and starts the worker. */
  public static BucketflowWorker start(WorkerConfig config, WorkflowServiceStubs service) {
    return start(config, service, UnaryOperator.identity());
  }

  /**
   * As {@link #start(WorkerConfig, WorkflowServiceStubs)}, registering {@code ingestSeam} applied
   * to the ingest activities (a test seam: a worker whose activity hangs, to play a killed one).
   */
  static BucketflowWorker start(
      WorkerConfig config,
      WorkflowServiceStubs service,
      UnaryOperator<IngestActivities> ingestSeam) {
    return start(config, service, ingestSeam, IngestCommitListener.NONE);
  }

  /**
   * As {@link #start(WorkerConfig, WorkflowServiceStubs, UnaryOperator)}, telling {@code committed}
   * of every ingest batch this worker commits (the latency metrics, {@code bench e2e}).
   */
  static BucketflowWorker start(
      WorkerConfig config,
      WorkflowServiceStubs service,
      UnaryOperator<IngestActivities> ingestSeam,
      IngestCommitListener committed) {
    List<BucketDefinition> buckets = Content.buckets(config.buckets(), config.enabledBuckets());
    List<JourneyDefinition> journeys =
        Content.journeys(config.journeys(), buckets, config.taskQueue(), JOURNEY_TYPES);
    HikariDataSource ds =
        Database.pool(config.jdbcUrl(), config.dbUser(), config.dbPassword(), config.dbPoolSize());
    try {
      Database.migrate(ds);
      BucketflowWorker w = new BucketflowWorker(config, service, ds, buckets, journeys);
      w.catalog.registerConfigs(w.dsl);
      // Today's and the coming days' event partitions exist before the first event arrives; the
      // reconcile cron keeps them from then on.
      w.eventStorage.maintain();
      w.register(ingestSeam, committed);
      w.factory.start();
      w.registerReconcileCron();
      w.startDelivery();
      w.startBackfills();
      log.info(
          "worker polling task queue '{}' in namespace '{}'; PostHog mirror {}",
          config.taskQueue(),
          config.namespace(),
          w.postHog.enabled() ? "on" : "off (no POSTHOG_API_KEY)");
      return w;
    } catch (RuntimeException e) {
      ds.close();
      throw e;
    }
  }

  /**
   * The options {@link #register} creates the worker with; {@code stickyTimeout} resolved (never
   * null).
   */
  static WorkerOptions workerOptions(WorkerConfig config, java.time.Duration stickyTimeout) {
    return WorkerOptions.newBuilder()
        .setMaxConcurrentActivityExecutionSize(activitySlots(config))
        // Journey emails run as local activities inside workflow tasks, outside the server's
        // priority order: bounded to half the pool so they never crowd ingest off it.
        .setMaxConcurrentLocalActivityExecutionSize(localActivitySlots(config))
        // ZERO: completions carry no sticky attributes, so every workflow task goes to the
        // shared queue and a dead worker strands nothing (see StickyTimeout).
        .setStickyQueueScheduleToStartTimeout(stickyTimeout)
        .build();
  }

  /**
   * Activity slots: the pool's connections, plus two per shard. Ingest and sweeps are DB-bound
   * (more of them would only queue on the pool), but each shard also has a delivery activity that
   * spends its time in Temporal and HTTP calls holding no connection (no network call under row
   * locks), and journeys' activities wait on the outbox. With slots = pool, deliveries starving
   * ingest cost `bench e2e` more than half its rate (659 vs 1,465 events/s at pool 24).
   */
  static int activitySlots(WorkerConfig config) {
    return Math.max(4, config.dbPoolSize()) + 2 * config.shards();
  }

  /** Local-activity slots (the journeys' emails): half the pool, at least 1. */
  static int localActivitySlots(WorkerConfig config) {
    return Math.max(1, config.dbPoolSize() / 2);
  }

  /** The sticky timeout this worker runs with (auto resolved at start). */
  public java.time.Duration stickyTimeout() {
    return stickyTimeout;
  }

  private void register(
      UnaryOperator<IngestActivities> ingestSeam, IngestCommitListener committed) {
    stickyTimeout = StickyTimeout.resolve(config.stickyTimeout(), service);
    workerOptions = workerOptions(config, stickyTimeout);
    Worker worker = factory.newWorker(config.taskQueue(), workerOptions);
    worker.registerWorkflowImplementationFactory(
        EventIngestWorkflow.class,
        () -> new EventIngestWorkflowImpl(config.ingest(), !stickyTimeout.isZero()));
    worker.registerWorkflowImplementationTypes(
        ReconcileWorkflowImpl.class,
        ExpiryWorkflowImpl.class,
        WinbackJourneyImpl.class,
        BackfillWorkflowImpl.class,
        DeliveryWorkflowImpl.class);
    worker.registerActivitiesImplementations(
        ingestSeam.apply(
            new IngestActivitiesImpl(ingest, wake, arming, committed, clock, deliveryYield)),
        journeyActivities,
        new ReconcileActivitiesImpl(
            reconcile,
            wake,
            dispatcher::pendingCount,
            ReconcileService.Budget.DEFAULT,
            () -> eventStorage.maintain(dev.bucketflow.activity.Heartbeat.current())),
        new ExpiryActivitiesImpl(expiry, wake, arming),
        new BackfillActivitiesImpl(backfill, wake),
        new DeliveryActivitiesImpl(dispatcher));
  }

  /**
   * Starts the cron workflow {@code bucketflow-reconcile} unless it runs: however many workers
   * start, the fixed id makes one. A changed schedule takes effect once the old cron is terminated
   * ({@code bucketflow reconcile --reset-cron}).
   */
  private void registerReconcileCron() {
    ReconcileWorkflow cron =
        client.newWorkflowStub(
            ReconcileWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId(ReconcileWorkflow.CRON_ID)
                .setTaskQueue(config.taskQueue())
                .setCronSchedule(config.reconcileCron())
                .setMemo(
                    Map.of(
                        "cron",
                        config.reconcileCron(),
                        "description",
                        "Bucketflow reconcile sweep"))
                .build());
    try {
      WorkflowClient.start(cron::run, ReconcileRequest.all());
      log.info(
          "registered reconcile cron '{}' as {}",
          config.reconcileCron(),
          ReconcileWorkflow.CRON_ID);
    } catch (WorkflowExecutionAlreadyStarted e) {
      log.info("reconcile cron {} already registered", ReconcileWorkflow.CRON_ID);
    }
  }

  /**
   * Wakes (starting where missing) every shard's delivery workflow, after moving rows of shards
   * that no longer exist (a smaller {@code BUCKETFLOW_SHARDS}) onto existing ones.
   */
  private void startDelivery() {
    int moved = dispatcher.reshardOrphans(config.shards());
    if (moved > 0)
      log.warn(
          "moved {} pending outbox row(s) of removed delivery shards onto existing ones", moved);
    wake.all();
  }

  /**
   * Compares each enabled bucket's criteria fingerprint with {@code bucket_configs.criteria_hash}
   * and starts a first-time backfill (new bucket) or a re-evaluation (changed criteria). The job
   * row is opened here, before the workflow, so reconcile joins wait for it at once; the workflow
   * id names the hash, so several workers booting together start it once.
   */
  private void startBackfills() {
    for (BucketDefinition bucket : catalog.registry().all()) {
      if (!catalog.isOn(bucket)) continue;
      BackfillService.Plan plan = backfill.plan(bucket);
      if (plan.kind().isEmpty()) continue;
      String hash = BucketJson.fingerprint(bucket);
      backfill.open(bucket.id(), hash, plan.kind().get());
      BackfillWorkflow wf =
          client.newWorkflowStub(
              BackfillWorkflow.class,
              WorkflowOptions.newBuilder()
                  .setWorkflowId(BackfillWorkflow.workflowId(bucket.id(), hash))
                  .setTaskQueue(config.taskQueue())
                  .build());
      try {
        WorkflowClient.start(wf::run, BackfillRequest.of(bucket.id(), hash, plan.kind().get()));
        log.info(
            "started {} backfill of bucket {} ({})",
            plan.kind().get().db(),
            bucket.id(),
            BackfillWorkflow.workflowId(bucket.id(), hash));
      } catch (WorkflowExecutionAlreadyStarted e) {
        log.info("backfill of bucket {} already running", bucket.id());
      }
    }
  }

  WorkerOptions workerOptions() {
    return workerOptions;
  }

  public MembershipEngine membership() {
    return membership;
  }

  public OutboxDispatcher dispatcher() {
    return dispatcher;
  }

  public WorkflowClient client() {
    return client;
  }

  public DSLContext dsl() {
    return dsl;
  }

  /**
   * What the admin API reads and drives: this worker's own parts (see {@link
   * dev.bucketflow.admin.AdminContext}).
   */
  public dev.bucketflow.admin.AdminContext adminContext(String adminToken) {
    return new dev.bucketflow.admin.AdminContext(
        dsl, catalog, journeys, backfill, client, config.taskQueue(), clock, adminToken);
  }

  public boolean running() {
    return factory.isStarted() && !factory.isShutdown();
  }

  public boolean databaseUp() {
    try {
      return dsl.selectOne().fetchOne() != null;
    } catch (RuntimeException e) {
      return false;
    }
  }

  public boolean temporalUp() {
    try {
      service
          .blockingStub()
          .withDeadlineAfter(2, TimeUnit.SECONDS)
          .getSystemInfo(GetSystemInfoRequest.getDefaultInstance());
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  /**
   * Stops polling and interrupts running tasks at once, without waiting: as far as the server can
   * tell, the worker vanished (a test stand-in for SIGKILL; an activity that ignores the interrupt
   * never reports back). {@link #close} still releases the rest.
   */
  void haltForTest() {
    factory.shutdownNow();
  }

  @Override
  public void close() {
    factory.shutdown();
    factory.awaitTermination(10, TimeUnit.SECONDS);
    wake.close();
    dataSource.close();
  }
}
