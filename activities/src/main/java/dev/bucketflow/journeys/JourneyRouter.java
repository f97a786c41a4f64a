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
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.impl.DSL;
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
      Record same = seen.same().get();
      // A re-delivered trigger. Started and acknowledged (run_id), or over: nothing to do.
      if (!JourneyStatus.RUNNING.equals(same.get(j.STATUS)) || same.get(j.RUN_ID) != null) return;
      claim = new Claim(same.get(j.ID), same.get(j.ENTRY_COUNT), same.get(j.WORKFLOW_ID));
      // Claimed, but did the start reach the server before the earlier delivery died? Its run
      // (open or already finished) carries this entry in its memo.
      Optional<RunInfo> latest = latestRun(claim.workflowId());
      if (latest.isPresent() && latest.get().entryCount() == claim.entry()) {
        acknowledge(claim, latest.get());
        return;
      }
    } else {
      if (seen.running().isPresent()) {
        Record running = seen.running().get();
        if (stillRunning(running.get(j.WORKFLOW_ID)))
          return; // one run at a time per (journey, user)
        // Finished without telling us (another SDK's journey): close the row, compare-and-swap.
        dsl.update(j)
            .set(j.STATUS, JourneyStatus.COMPLETED)
            .set(j.ENDED_AT, clock.instant())
            .where(j.ID.eq(running.get(j.ID)).and(j.STATUS.eq(JourneyStatus.RUNNING)))
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
      dsl.update(j).set(j.RUN_ID, run.getRunId()).where(j.ID.eq(claim.id())).execute();
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
   * three, and a transaction around the last: a fifth of a journey start's time under load, {@code
   * bench e2e}): the row of this trigger key, the (journey, user)'s running row, and its history
   * (how many runs, the latest start) for the entryLimit.
   */
  private record Seen(
      Optional<Record> same, Optional<Record> running, int prior, Instant lastStart) {}

  private Seen seen(JourneyDefinition journey, String userId, String triggerKey) {
    var j = JOURNEY_STATES;
    var h = JOURNEY_STATES.as("h");
    var prior = DSL.count().as("prior");
    var lastStart = DSL.max(h.STARTED_AT).as("last_start");
    var history =
        DSL.select(prior, lastStart)
            .from(h)
            .where(h.JOURNEY_ID.eq(journey.id()).and(h.USER_ID.eq(userId)))
            .asTable("history");
    var rows =
        dsl.select(history.field(prior), history.field(lastStart))
            .select(j.ID, j.STATUS, j.ENTRY_COUNT, j.WORKFLOW_ID, j.RUN_ID, j.TRIGGER_KEY)
            .from(history)
            .leftJoin(j)
            .on(
                j.JOURNEY_ID
                    .eq(journey.id())
                    .and(
                        j.TRIGGER_KEY
                            .eq(triggerKey)
                            .or(j.USER_ID.eq(userId).and(j.STATUS.eq(JourneyStatus.RUNNING)))))
            .fetch();
    Optional<Record> same = Optional.empty();
    Optional<Record> running = Optional.empty();
    for (Record r : rows) {
      if (r.get(j.ID) == null) continue; // neither: the left join's empty side
      if (triggerKey.equals(r.get(j.TRIGGER_KEY))) same = Optional.of(r);
      if (JourneyStatus.RUNNING.equals(r.get(j.STATUS))) running = Optional.of(r);
    }
    Record first = rows.get(0);
    return new Seen(
        same, running, first.get(history.field(prior)), first.get(history.field(lastStart)));
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
    var j = JOURNEY_STATES;
    Instant now = clock.instant();
    if (!EntryGate.emitsJoin(
        journey.entryLimit(), journey.entryPeriod(), seen.prior(), seen.lastStart(), now))
      return Optional.empty();
    int entry = seen.prior() + 1;
    String workflowId = journey.workflowId(userId);
    return dsl.insertInto(
            j,
            j.JOURNEY_ID,
            j.USER_ID,
            j.STATUS,
            j.ENTRY_COUNT,
            j.WORKFLOW_ID,
            j.TRIGGER_EVENT,
            j.TRIGGER_KEY,
            j.STARTED_AT)
        .values(
            journey.id(),
            userId,
            JourneyStatus.RUNNING,
            entry,
            workflowId,
            eventName,
            triggerKey,
            now)
        .onConflictDoNothing()
        .returningResult(j.ID)
        .fetchOptional(j.ID)
        .map(id -> new Claim(id, entry, workflowId));
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
