package dev.bucketflow.journeys;

import static dev.bucketflow.schema.Tables.JOURNEY_STATES;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bucketflow.bucket.EntryGate;
import dev.bucketflow.journey.JourneyDefinition;
import dev.bucketflow.journey.JourneyRegistry;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.api.enums.v1.WorkflowIdReusePolicy;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowNotFoundException;
import io.temporal.client.WorkflowOptions;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
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

  private final DSLContext dsl;
  private final JourneyRegistry journeys;
  private final WorkflowClient client;
  private final String ownTaskQueue;
  private final Clock clock;

  public JourneyRouter(DSLContext dsl, JourneyRegistry journeys, WorkflowClient client, String ownTaskQueue, Clock clock) {
    this.dsl = dsl;
    this.journeys = journeys;
    this.client = client;
    this.ownTaskQueue = ownTaskQueue;
    this.clock = clock;
  }

  public JourneyRegistry journeys() {
    return journeys;
  }

  /** Internal event name (reserved prefix, never ingestible) telling the router a contact was deleted. */
  public static final String CONTACT_DELETED = "bucket:contact-deleted";

  /** Routes one event; {@code triggerKey} identifies it uniquely and stably across re-deliveries. */
  public void route(String userId, String eventName, JsonNode properties, String triggerKey) {
    if (CONTACT_DELETED.equals(eventName)) {
      for (JourneyDefinition j : journeys.all()) exit(j, userId, "contact deleted");
      return;
    }
    for (JourneyDefinition j : journeys.exitedBy(eventName)) exit(j, userId, eventName);
    for (JourneyDefinition j : journeys.triggeredBy(eventName)) start(j, userId, eventName, properties, triggerKey);
  }

  private void start(JourneyDefinition journey, String userId, String eventName, JsonNode properties, String triggerKey) {
    Claim claim = dsl.transactionResult(cfg -> claimRun(cfg.dsl(), journey, userId, eventName, triggerKey));
    if (claim == null) return;
    int entry = claim.entry();
    WorkflowOptions options = WorkflowOptions.newBuilder()
        .setWorkflowId(claim.workflowId())
        .setTaskQueue(journey.taskQueueOr(ownTaskQueue))
        .setWorkflowIdReusePolicy(WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE)
        .setMemo(Map.of("journeyId", journey.id(), "userId", userId, "entryCount", entry, "trigger", eventName))
        .build();
    try {
      client.newUntypedWorkflowStub(journey.workflowType(), options)
          .start(new JourneyInput(journey.id(), userId, entry, eventName, properties, journey.settings()));
      log.info("journey started journey={} user={} entry={} trigger={}", journey.id(), userId, entry, eventName);
    } catch (WorkflowExecutionAlreadyStarted e) {
      // Started by an earlier delivery of this trigger: exactly once in effect.
    }
  }

  /**
   * The run a trigger starts: its entry number and the workflow id recorded with it. A re-delivery
   * starts the recorded id, so a row written before the id encoding changed keeps its former id.
   */
  private record Claim(int entry, String workflowId) {}

  /**
   * Records the run this trigger starts and returns it, or null when it starts nothing: already
   * recorded and finished, another run still going, or the entryLimit says no.
   */
  private Claim claimRun(DSLContext tx, JourneyDefinition journey, String userId, String eventName, String triggerKey) {
    var j = JOURNEY_STATES;
    Record same = tx.select(j.STATUS, j.ENTRY_COUNT, j.WORKFLOW_ID).from(j)
        .where(j.JOURNEY_ID.eq(journey.id()).and(j.TRIGGER_KEY.eq(triggerKey))).fetchOne();
    if (same != null) {
      return "running".equals(same.get(j.STATUS)) ? new Claim(same.get(j.ENTRY_COUNT), same.get(j.WORKFLOW_ID)) : null;
    }
    Record running = tx.select(j.ID, j.WORKFLOW_ID).from(j)
        .where(j.JOURNEY_ID.eq(journey.id()).and(j.USER_ID.eq(userId)).and(j.STATUS.eq("running")))
        .forUpdate().fetchOne();
    Instant now = clock.instant();
    if (running != null) {
      if (stillRunning(running.get(j.WORKFLOW_ID))) return null;
      tx.update(j).set(j.STATUS, "completed").set(j.ENDED_AT, now).where(j.ID.eq(running.get(j.ID))).execute();
    }
    Record history = tx.select(org.jooq.impl.DSL.count(), org.jooq.impl.DSL.max(j.STARTED_AT)).from(j)
        .where(j.JOURNEY_ID.eq(journey.id()).and(j.USER_ID.eq(userId))).fetchOne();
    int prior = history.get(0, Integer.class);
    Instant lastStart = history.get(1, Instant.class);
    if (!EntryGate.emitsJoin(journey.entryLimit(), journey.entryPeriod(), prior, lastStart, now)) return null;
    Claim claim = new Claim(prior + 1, journey.workflowId(userId));
    int inserted = tx.insertInto(j, j.JOURNEY_ID, j.USER_ID, j.STATUS, j.ENTRY_COUNT, j.WORKFLOW_ID, j.TRIGGER_EVENT,
            j.TRIGGER_KEY, j.STARTED_AT)
        .values(journey.id(), userId, "running", claim.entry(), claim.workflowId(), eventName, triggerKey, now)
        .onConflictDoNothing().execute();
    return inserted == 1 ? claim : null;
  }

  private void exit(JourneyDefinition journey, String userId, String eventName) {
    var j = JOURNEY_STATES;
    Record running = dsl.select(j.ID, j.WORKFLOW_ID).from(j)
        .where(j.JOURNEY_ID.eq(journey.id()).and(j.USER_ID.eq(userId)).and(j.STATUS.eq("running"))).fetchOne();
    if (running == null) return;
    String status = "exited";
    try {
      client.newUntypedWorkflowStub(running.get(j.WORKFLOW_ID)).signal("exit", eventName);
      log.info("journey exit signalled journey={} user={} reason={}", journey.id(), userId, eventName);
    } catch (WorkflowNotFoundException e) {
      status = "completed"; // it had already finished on its own
    }
    dsl.update(j).set(j.STATUS, status).set(j.EXIT_REASON, eventName).set(j.ENDED_AT, clock.instant())
        .where(j.ID.eq(running.get(j.ID)).and(j.STATUS.eq("running"))).execute();
  }

  /** Whether the latest run of this workflow id is still open (any SDK, any task queue). */
  private boolean stillRunning(String workflowId) {
    try {
      WorkflowExecutionStatus status = client.getWorkflowServiceStubs().blockingStub()
          .describeWorkflowExecution(DescribeWorkflowExecutionRequest.newBuilder()
              .setNamespace(client.getOptions().getNamespace())
              .setExecution(WorkflowExecution.newBuilder().setWorkflowId(workflowId))
              .build())
          .getWorkflowExecutionInfo().getStatus();
      return status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) return false;
      throw e;
    }
  }
}
