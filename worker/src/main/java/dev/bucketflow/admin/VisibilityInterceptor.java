package dev.bucketflow.admin;

import dev.bucketflow.backfill.BackfillRequest;
import dev.bucketflow.expiry.ExpiryRequest;
import dev.bucketflow.journeys.JourneyInput;
import io.temporal.client.WorkflowOptions;
import io.temporal.common.SearchAttributes;
import io.temporal.common.interceptors.WorkflowClientCallsInterceptor;
import io.temporal.common.interceptors.WorkflowClientCallsInterceptorBase;
import io.temporal.common.interceptors.WorkflowClientInterceptorBase;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Gives every workflow this worker's client starts a static summary (Temporal's user metadata,
 * shown in the Web UI's list and detail pages) and, on expiry, backfill and journey workflows, the
 * {@link Visibility} search attributes — without touching the code that starts them: it rewrites
 * the start options of {@code start} and {@code signalWithStart} calls from the workflow's input.
 *
 * <ul>
 *   <li>{@code BucketExpiry}: {@code expiry · <bucket> · <user> · due 2026-12-03T10:00Z}, bucket
 *       and user attributes;
 *   <li>a journey ({@link JourneyInput}): {@code journey · <journey> · <user> · on <trigger
 *       event>}, user attribute, bucket attribute when the trigger is a {@code bucket:…:<id>}
 *       event;
 *   <li>{@code BucketBackfill}: {@code backfill · <bucket> · <kind>}, bucket attribute;
 *   <li>{@code EventIngest}, {@code Reconcile}, {@code OutboxDelivery}: a summary naming the shard
 *       or the sweep.
 * </ul>
 *
 * Options the caller set explicitly (a summary, search attributes) are kept.
 */
public final class VisibilityInterceptor extends WorkflowClientInterceptorBase {

  /** {@code 2026-12-03T10:00Z}: deadlines to the minute, UTC. */
  static final DateTimeFormatter MINUTE =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm'Z'").withZone(ZoneOffset.UTC);

  private final boolean searchAttributes;

  /**
   * @param searchAttributes whether the server has {@link Visibility}'s attributes (else only
   *     summaries are set)
   */
  public VisibilityInterceptor(boolean searchAttributes) {
    this.searchAttributes = searchAttributes;
  }

  @Override
  public WorkflowClientCallsInterceptor workflowClientCallsInterceptor(
      WorkflowClientCallsInterceptor next) {
    return new WorkflowClientCallsInterceptorBase(next) {
      @Override
      public WorkflowStartOutput start(WorkflowStartInput input) {
        return super.start(enrich(input));
      }

      @Override
      public WorkflowSignalWithStartOutput signalWithStart(WorkflowSignalWithStartInput input) {
        return super.signalWithStart(
            new WorkflowSignalWithStartInput(
                enrich(input.getWorkflowStartInput()),
                input.getSignalName(),
                input.getSignalArguments()));
      }
    };
  }

  /** What the Web UI should show for a start. */
  record Labels(String summary, String bucketId, String userId) {}

  WorkflowClientCallsInterceptor.WorkflowStartInput enrich(
      WorkflowClientCallsInterceptor.WorkflowStartInput in) {
    Labels labels = labels(in.getWorkflowType(), in.getWorkflowId(), in.getArguments());
    if (labels == null) return in;
    WorkflowOptions options = in.getOptions();
    WorkflowOptions.Builder b = WorkflowOptions.newBuilder(options);
    if (options.getStaticSummary() == null && labels.summary() != null)
      b.setStaticSummary(labels.summary());
    boolean callerSet =
        options.getTypedSearchAttributes() != null && options.getTypedSearchAttributes().size() > 0
            || options.getSearchAttributes() != null && !options.getSearchAttributes().isEmpty();
    if (searchAttributes && !callerSet && (labels.bucketId() != null || labels.userId() != null)) {
      SearchAttributes.Builder sa = SearchAttributes.newBuilder();
      if (labels.bucketId() != null) sa.set(Visibility.BUCKET_ID, labels.bucketId());
      if (labels.userId() != null) sa.set(Visibility.USER_ID, labels.userId());
      b.setTypedSearchAttributes(sa.build());
    }
    return new WorkflowClientCallsInterceptor.WorkflowStartInput(
        in.getWorkflowId(), in.getWorkflowType(), in.getHeader(), in.getArguments(), b.build());
  }

  static Labels labels(String type, String workflowId, Object[] args) {
    Object arg = args != null && args.length > 0 ? args[0] : null;
    if (arg instanceof ExpiryRequest r) {
      String due = MINUTE.format(Instant.ofEpochMilli(r.deadlineMillis()));
      return new Labels(
          "expiry · " + r.bucketId() + " · " + r.userId() + " · due " + due,
          r.bucketId(),
          r.userId());
    }
    if (arg instanceof JourneyInput j) {
      return new Labels(
          "journey · " + j.journeyId() + " · " + j.userId() + " · on " + j.triggerEvent(),
          bucketOf(j.triggerEvent()),
          j.userId());
    }
    if (arg instanceof BackfillRequest r) {
      return new Labels("backfill · " + r.bucketId() + " · " + r.kind(), r.bucketId(), null);
    }
    return switch (type) {
      case "EventIngest" -> new Labels("ingest · " + workflowId, null, null);
      case "Reconcile" ->
          new Labels("reconcile sweep · every enabled time-based bucket", null, null);
      case "OutboxDelivery" -> new Labels("outbox delivery · " + workflowId, null, null);
      default -> null;
    };
  }

  /** {@code bucket:entered:<id>} / {@code bucket:left:<id>} → {@code <id>}; else null. */
  static String bucketOf(String event) {
    if (event == null || !event.startsWith("bucket:")) return null;
    int last = event.lastIndexOf(':');
    return last > "bucket:".length() - 1 && last < event.length() - 1
        ? event.substring(last + 1)
        : null;
  }
}
