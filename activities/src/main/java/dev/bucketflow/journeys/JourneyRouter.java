package dev.bucketflow.journeys;

import static dev.bucketflow.schema.Tables.JOURNEY_STATES;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bucketflow.bucket.EntryGate;
import dev.bucketflow.journey.JourneyDefinition;
import dev.bucketflow.journey.JourneyRegistry;
import dev.bucketflow.journey.JourneyStatus;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.temporal.api.common.v1.Payload;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.api.enums.v1.WorkflowIdReusePolicy;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowNotFoundException;
import io.temporal.client.WorkflowOptions;
import io.temporal.common.Priority;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts and exits journeys for an event (DESIGN §10). A start is recorded in {@code
 * journey_states} under the trigger's key before the workflow starts, so a re-delivered trigger
 * starts nothing twice, and a crash between the two is repaired by the re-delivery (the start is
 * idempotent by workflow id). One running run per (journey, user); the journey's own entryLimit
 * gates new runs.
 *
 * <p>Every signal, describe and re-start uses the workflow id recorded in {@code journey_states},
 * never a recomputed one: runs recorded under the former {@code journey-<journey>-<user>} id
 * (before {@link dev.bucketflow.bucket.WorkflowIds}) are still exited, still block a second run,
 * and are re-started under the id they were recorded with.
 */
public final class JourneyRouter {

  private static final Logger log = LoggerFactory.getLogger(JourneyRouter.class);

  /**
   * Journeys yield to ingest: a journey's workflow and activity tasks rank after the default (3)
   * that the ingest shards' tasks carry, on a server that orders tasks by priority key (1 to 5,
   * lower first; Temporal's test server does). Journeys are messaging that may start a moment
   * later; ingest is the seconds-latency path. A server without priorities ignores it.
   */
  static final Priority JOURNEY_PRIORITY = Priority.newBuilder().setPriorityKey(4).build();

  private final DSLContext dsl;
  private final JourneyRegistry journeys;
  private final WorkflowClient client;
  private final String ownTaskQueue;
  private final Clock clock;

  public JourneyRouter(
      DSLContext dsl,
      JourneyRegistry journeys,
      WorkflowClient client,
      String ownTaskQueue,
      Clock clock) {
    this.dsl = dsl;
    this.journeys = journeys;
    this.client = client;
    this.ownTaskQueue = ownTaskQueue;
    this.clock = clock;
  }

  public JourneyRegistry journeys() {
    return journeys;
  }

  /**
   * Internal event name (reserved prefix, never ingestible) telling the router a contact was
   * deleted.
   */
  public static final String CONTACT_DELETED = "bucket:contact-deleted";

  /**
   * Routes one event; {@code triggerKey} identifies it uniquely and stably across re-deliveries.
   */
  public void route(String userId, String eventName, JsonNode properties, String triggerKey) {
    if (CONTACT_DELETED.equals(eventName)) {
      for (JourneyDefinition j : journeys.all()) exit(j, userId, "contact deleted");
      return;
    }
    for (JourneyDefinition j : journeys.exitedBy(eventName)) exit(j, userId, eventName);
    for (JourneyDefinition j : journeys.triggeredBy(eventName))
      start(j, userId, eventName, properties, triggerKey);
  }

  private void start(
      JourneyDefinition journey,
      String userId,
      String eventName,
      JsonNode properties,
      String triggerKey) {
    var j = JOURNEY_STATES;
    // Every read and write below is its own short statement; the server is asked (describe,
    // start) with no transaction open.
    Seen seen = seen(journey, userId, triggerKey);
    Claim claim;
    if (seen.same().isPresent()) {
      Row same = seen.same().get();
      // A re-delivered trigger. Started and acknowledged (run_id), or over: nothing to do.
      if (same.status() != JourneyStatus.RUNNING || same.runId() != null) return;
      claim = new Claim(same.id(), same.entryCount(), same.workflowId());
      // Claimed, but did the start reach the server before the earlier delivery died? Its run
      // (open or already finished) carries this entry in its memo.
      Optional<RunInfo> latest = latestRun(claim.workflowId());
      if (latest.isPresent() && latest.get().entryCount() == claim.entry()) {
        acknowledge(claim, latest.get());
        return;
      }
    } else {
      if (seen.running().isPresent()) {
        Row running = seen.running().get();
        if (stillRunning(running.workflowId())) return; // one run at a time per (journey, user)
        // Finished without telling us (another SDK's journey): close the row, compare-and-swap.
        dsl.update(j)
            .set(j.STATUS, JourneyStatus.COMPLETED)
            .set(j.ENDED_AT, clock.instant())
            .where(j.ID.eq(running.id()).and(j.STATUS.eq(JourneyStatus.RUNNING)))
            .execute();
      }
      Optional<Claim> claimed = claimRun(journey, userId, eventName, triggerKey, seen);
      if (claimed.isEmpty()) return;
      claim = claimed.get();
    }
    int entry = claim.entry();
    WorkflowOptions options =
        WorkflowOptions.newBuilder()
            .setWorkflowId(claim.workflowId())
            .setTaskQueue(journey.taskQueueOr(ownTaskQueue))
            .setPriority(JOURNEY_PRIORITY)
            // Eager start: the start's response carries the first workflow task to this process's
            // own worker (when it polls the journey's task queue and has a free slot), saving the
            // poll round trip and the matching; otherwise the server dispatches it as usual.
            .setDisableEagerExecution(false)
            // The previous run under this id is over (checked above); a run of this very claim is
            // recognised by the entryCount in its memo, so a re-delivery never starts a second one.
            .setWorkflowIdReusePolicy(
                WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE)
            .setMemo(
                Map.of(
                    "journeyId",
                    journey.id(),
                    "userId",
                    userId,
                    "entryCount",
                    entry,
                    "trigger",
                    eventName,
                    "triggerKey",
                    triggerKey))
            .build();
    try {
      WorkflowExecution run =
          client
              .newUntypedWorkflowStub(journey.workflowType(), options)
              .start(
                  new JourneyInput(
                      journey.id(), userId, entry, eventName, properties, journey.settings()));
      dsl.execute(STARTED_SQL, run.getRunId(), claim.id());
      log.info(
          "journey started journey={} user={} entry={} trigger={}",
          journey.id(),
          userId,
          entry,
          eventName);
    } catch (WorkflowExecutionAlreadyStarted e) {
      // Open under this id: by the one-running rule it is this claim's run (legacy rows aside).
      latestRun(claim.workflowId()).ifPresent(r -> acknowledge(claim, r));
    }
  }

  /** Records that the claim's run exists; a run already closed closes the row too. */
  private void acknowledge(Claim claim, RunInfo run) {
    var j = JOURNEY_STATES;
    var update = dsl.update(j).set(j.RUN_ID, run.runId());
    if (!run.open())
      update = update.set(j.STATUS, JourneyStatus.COMPLETED).set(j.ENDED_AT, clock.instant());
    update.where(j.ID.eq(claim.id()).and(j.STATUS.eq(JourneyStatus.RUNNING))).execute();
  }

  /**
   * The run a trigger starts: the row's id, its entry number and the workflow id recorded with it.
   * A re-delivery starts the recorded id, so a row written before the id encoding changed keeps its
   * former id.
   */
  private record Claim(long id, int entry, String workflowId) {}

  /**
   * The latest run under a workflow id: its run id, whether it is open, and the entry its memo
   * names (-1 if none).
   */
  private record RunInfo(String runId, boolean open, int entryCount) {}

  /**
   * What {@code journey_states} holds for one trigger, read in one statement (it used to take
   * three, and a transaction around the last): the row of this trigger key, the (journey, user)'s
   * running row, and its history (how many runs, the latest start) for the entryLimit.
   */
  private record Seen(Optional<Row> same, Optional<Row> running, int prior, Instant lastStart) {}

  /** One {@code journey_states} row, as the router reads it. */
  private record Row(
      long id,
      JourneyStatus status,
      int entryCount,
      String workflowId,
      String runId,
      String triggerKey) {}

  /*
   * The statements of a journey start are fixed text with bound values, not jOOQ queries built per
   * call: delivery is CPU-bound on Java (bench e2e; the JFR profile of its full path put a fifth of
   * all Java samples in delivery, most of them in rendering jOOQ queries), and a fixed text is
   * rendered by no one and prepared once per connection by the driver.
   */
  private static final String SEEN_SQL =
      """
      select h.prior, h.last_start, s.id, s.status, s.entry_count, s.workflow_id, s.run_id,
        s.trigger_key
      from (select cast(count(*) as int) as prior, max(started_at) as last_start
            from journey_states where journey_id = ? and user_id = ?) h
      left join journey_states s on s.journey_id = ?
        and (s.trigger_key = ? or (s.user_id = ? and s.status = 'running'))
      """;

  private static final String CLAIM_SQL =
      """
      insert into journey_states (journey_id, user_id, status, entry_count, workflow_id,
        trigger_event, trigger_key, started_at)
      values (?, ?, 'running', ?, ?, ?, ?, cast(? as timestamptz))
      on conflict do nothing
      returning id
      """;

  private static final String STARTED_SQL = "update journey_states set run_id = ? where id = ?";

  private Seen seen(JourneyDefinition journey, String userId, String triggerKey) {
    var rows = dsl.fetch(SEEN_SQL, journey.id(), userId, journey.id(), triggerKey, userId);
    Optional<Row> same = Optional.empty();
    Optional<Row> running = Optional.empty();
    for (Record r : rows) {
      Long id = r.get(2, Long.class);
      if (id == null) continue; // neither: the left join's empty side
      Row row =
          new Row(
              id,
              JourneyStatus.fromDb(r.get(3, String.class)),
              r.get(4, Integer.class),
              r.get(5, String.class),
              r.get(6, String.class),
              r.get(7, String.class));
      if (triggerKey.equals(row.triggerKey())) same = Optional.of(row);
      if (row.status() == JourneyStatus.RUNNING) running = Optional.of(row);
    }
    Record first = rows.get(0);
    return new Seen(same, running, first.get(0, Integer.class), first.get(1, Instant.class));
  }

  /**
   * Records the run this trigger starts and returns it, or empty when it starts nothing: another
   * run still going (the partial unique index), or the entryLimit says no. One autocommit insert:
   * the history it is gated on was read just before, unlocked, as the transaction that used to wrap
   * both read it (a concurrent claim for the same user loses on the unique index either way, and
   * only the user's delivery shard claims for it).
   */
  private Optional<Claim> claimRun(
      JourneyDefinition journey, String userId, String eventName, String triggerKey, Seen seen) {
    Instant now = clock.instant();
    if (!EntryGate.emitsJoin(
        journey.entryLimit(), journey.entryPeriod(), seen.prior(), seen.lastStart(), now))
      return Optional.empty();
    int entry = seen.prior() + 1;
    String workflowId = journey.workflowId(userId);
    Optional<Claim> claim =
        dsl.fetchOptional(
                CLAIM_SQL,
                journey.id(),
                userId,
                entry,
                workflowId,
                eventName,
                triggerKey,
                now.toString())
            .map(r -> new Claim(r.get(0, Long.class), entry, workflowId));
    if (claim.isEmpty())
      log.info(
          "journey not started journey={} user={} entry={} trigger={}: the row is held by a"
              + " concurrent claim",
          journey.id(),
          userId,
          entry,
          eventName);
    return claim;
  }

  private void exit(JourneyDefinition journey, String userId, String eventName) {
    var j = JOURNEY_STATES;
    Record running =
        dsl.select(j.ID, j.WORKFLOW_ID)
            .from(j)
            .where(
                j.JOURNEY_ID
                    .eq(journey.id())
                    .and(j.USER_ID.eq(userId))
                    .and(j.STATUS.eq(JourneyStatus.RUNNING)))
            .fetchOne();
    if (running == null) return;
    JourneyStatus status = JourneyStatus.EXITED;
    try {
      client.newUntypedWorkflowStub(running.get(j.WORKFLOW_ID)).signal("exit", eventName);
      log.info(
          "journey exit signalled journey={} user={} reason={}", journey.id(), userId, eventName);
    } catch (WorkflowNotFoundException e) {
      status = JourneyStatus.COMPLETED; // it had already finished on its own
    }
    dsl.update(j)
        .set(j.STATUS, status)
        .set(j.EXIT_REASON, eventName)
        .set(j.ENDED_AT, clock.instant())
        .where(j.ID.eq(running.get(j.ID)).and(j.STATUS.eq(JourneyStatus.RUNNING)))
        .execute();
  }

  /** Whether the latest run of this workflow id is still open (any SDK, any task queue). */
  private boolean stillRunning(String workflowId) {
    return latestRun(workflowId).map(RunInfo::open).orElse(false);
  }

  private Optional<RunInfo> latestRun(String workflowId) {
    try {
      var info =
          client
              .getWorkflowServiceStubs()
              .blockingStub()
              .describeWorkflowExecution(
                  DescribeWorkflowExecutionRequest.newBuilder()
                      .setNamespace(client.getOptions().getNamespace())
                      .setExecution(WorkflowExecution.newBuilder().setWorkflowId(workflowId))
                      .build())
              .getWorkflowExecutionInfo();
      Payload entry = info.getMemo().getFieldsMap().get("entryCount");
      int entryCount = -1;
      if (entry != null) {
        Integer decoded =
            client.getOptions().getDataConverter().fromPayload(entry, Integer.class, Integer.class);
        entryCount = decoded == null ? -1 : decoded;
      }
      return Optional.of(
          new RunInfo(
              info.getExecution().getRunId(),
              info.getStatus() == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
              entryCount));
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) return Optional.empty();
      throw e;
    }
  }
}
