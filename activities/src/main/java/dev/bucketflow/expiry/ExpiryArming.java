package dev.bucketflow.expiry;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.WorkflowIds;
import dev.bucketflow.dispatch.OutboxRow;
import dev.bucketflow.dispatch.TransitionTarget;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.DeadlineSignals;
import dev.bucketflow.membership.Deadlines;
import dev.bucketflow.membership.MovedDeadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.api.enums.v1.WorkflowIdReusePolicy;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowExecutionAlreadyStarted;
import io.temporal.client.WorkflowOptions;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the per-member fast-expiry workflow on a join of a {@code fastExpiry} bucket. The id
 * ({@link WorkflowIds#expiry}) names the epoch, and an already-started workflow counts as success:
 * arming is idempotent. A watch still running under the former id counts as started too.
 *
 * <p>It also carries deadlines moved earlier to the running watch ({@link #deadlinesMoved}): a
 * {@code deadlineMoved} signal-with-start, so a watch that is missing is started toward the new
 * deadline.
 */
public final class ExpiryArming implements TransitionTarget, DeadlineSignals {

  private static final Logger log = LoggerFactory.getLogger(ExpiryArming.class);

  private final DSLContext dsl;
  private final BucketCatalog catalog;
  private final WorkflowClient client;
  private final String taskQueue;

  public ExpiryArming(
      DSLContext dsl, BucketCatalog catalog, WorkflowClient client, String taskQueue) {
    this.dsl = dsl;
    this.catalog = catalog;
    this.client = client;
    this.taskQueue = taskQueue;
  }

  @Override
  public void deliver(OutboxRow row) {
    if (!row.entered()) return;
    BucketDefinition bucket = catalog.byId(row.bucketId()).orElse(null);
    if (bucket == null || !bucket.fastExpiry()) return;
    var m = BUCKET_MEMBERSHIPS;
    Record r =
        dsl.select(m.EXPIRES_AT, m.MAX_DWELL_AT, m.ENTERED_AT, m.DWELL_DONE_MS)
            .from(m)
            .where(
                m.BUCKET_ID
                    .eq(row.bucketId())
                    .and(m.USER_ID.eq(row.userId()))
                    .and(m.ENTRY_COUNT.eq(row.epoch()))
                    .and(m.STATUS.eq(MembershipStatus.ACTIVE))
                    .and(m.DELETED_AT.isNull()))
            .fetchOne();
    if (r == null) return; // already left: nothing to watch
    Instant deadline =
        Deadlines.watch(
            dsl,
            bucket,
            r.get(m.EXPIRES_AT),
            r.get(m.MAX_DWELL_AT),
            r.get(m.ENTERED_AT),
            r.get(m.DWELL_DONE_MS));
    if (deadline == null) return;
    // Started here, or already running: the epoch's join watch may be sleeping toward the join
    // instant (an event joined first), and must hear a leave deadline that is earlier. (Start
    // first, not signal-with-start: a started run keeps its summary on every server.)
    if (!arm(row.bucketId(), row.userId(), row.epoch(), deadline)) {
      moveDeadline(new MovedDeadline(row.bucketId(), row.userId(), row.epoch(), deadline));
    }
  }

  /**
   * Starts the watch unless one runs already (a finished one may be started again: it re-checks the
   * row and ends at once if there is nothing to do). False when nothing was started.
   */
  public boolean arm(String bucketId, String userId, int epoch, Instant deadline) {
    if (deadline == null) return false;
    // A watch started under the former id (before the id change) still guards this epoch; a second
    // one under the new id would be harmless under the CAS but doubles the work, so it counts as
    // armed.
    if (legacyWatchRunning(bucketId, userId, epoch)) return false;
    ExpiryWorkflow stub =
        client.newWorkflowStub(ExpiryWorkflow.class, options(bucketId, userId, epoch));
    try {
      WorkflowClient.start(
          stub::run, new ExpiryRequest(bucketId, userId, epoch, deadline.toEpochMilli()));
      return true;
    } catch (WorkflowExecutionAlreadyStarted e) {
      return false;
    }
  }

  /**
   * After the writer's commit: each watch hears its earlier deadline (a watch ignores one that is
   * not earlier). Failures are logged, never thrown — the reconcile tick is the backstop.
   */
  @Override
  public void deadlinesMoved(Collection<MovedDeadline> moved) {
    for (MovedDeadline d : moved) {
      try {
        moveDeadline(d);
      } catch (RuntimeException e) {
        log.warn(
            "could not tell the expiry watch of {}/{} (epoch {}) its deadline moved to {}; the reconcile tick will: {}",
            d.bucketId(),
            d.userId(),
            d.entryCount(),
            d.deadline(),
            e.toString());
      }
    }
  }

  /**
   * Signals the watch of that epoch (signal-with-start under the current id; a former-id watch is
   * signalled).
   */
  void moveDeadline(MovedDeadline d) {
    long millis = d.deadline().toEpochMilli();
    if (legacyWatchRunning(d.bucketId(), d.userId(), d.entryCount())) {
      client
          .newUntypedWorkflowStub(
              WorkflowIds.legacyExpiry(d.bucketId(), d.userId(), d.entryCount()))
          .signal(ExpiryWorkflow.DEADLINE_MOVED, millis);
      return;
    }
    client
        .newUntypedWorkflowStub(
            ExpiryWorkflow.TYPE, options(d.bucketId(), d.userId(), d.entryCount()))
        .signalWithStart(
            ExpiryWorkflow.DEADLINE_MOVED,
            new Object[] {millis},
            new Object[] {new ExpiryRequest(d.bucketId(), d.userId(), d.entryCount(), millis)});
  }

  private WorkflowOptions options(String bucketId, String userId, int epoch) {
    return WorkflowOptions.newBuilder()
        .setWorkflowId(ExpiryWorkflow.workflowId(bucketId, userId, epoch))
        .setTaskQueue(taskQueue)
        .setWorkflowIdReusePolicy(WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE)
        .setMemo(Map.of("bucketId", bucketId, "userId", userId, "entryCount", epoch))
        .build();
  }

  /**
   * Whether a watch of this epoch runs under {@link WorkflowIds#legacyExpiry}. Ids are never
   * recorded for watches, so the former id is computed and asked for; only needed until the watches
   * armed before the change have reached their deadlines, one describe per arm until then.
   */
  private boolean legacyWatchRunning(String bucketId, String userId, int epoch) {
    String legacy = WorkflowIds.legacyExpiry(bucketId, userId, epoch);
    try {
      return client
              .getWorkflowServiceStubs()
              .blockingStub()
              .describeWorkflowExecution(
                  DescribeWorkflowExecutionRequest.newBuilder()
                      .setNamespace(client.getOptions().getNamespace())
                      .setExecution(WorkflowExecution.newBuilder().setWorkflowId(legacy))
                      .build())
              .getWorkflowExecutionInfo()
              .getStatus()
          == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
    } catch (StatusRuntimeException e) {
      // INVALID_ARGUMENT: the server refuses the id itself (a former id over its
      // limit.maxIDLength),
      // so no run can exist under it; failing here would block arming of that member for good.
      Status.Code code = e.getStatus().getCode();
      if (code == Status.Code.NOT_FOUND || code == Status.Code.INVALID_ARGUMENT) return false;
      throw e;
    }
  }
}
