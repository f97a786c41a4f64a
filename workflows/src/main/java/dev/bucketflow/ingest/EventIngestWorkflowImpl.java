package dev.bucketflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;

/**
 * Buffers signalled events and applies them in bounded batches, one activity call per batch,
 * continuing as new (carrying unapplied events) before the history grows large.
 */
public class EventIngestWorkflowImpl implements EventIngestWorkflow {

  private static final Logger log = Workflow.getLogger(EventIngestWorkflowImpl.class);

  private final IngestSettings configured;
  /** The settings of this run, recorded in history so a redeploy with other settings replays the same batches. */
  private IngestSettings settings;
  // Retries forever: a batch is never dropped; bad events are rejected inside, not thrown.
  private final IngestActivities activities =
      Workflow.newActivityStub(
          IngestActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofMinutes(2))
              .setRetryOptions(
                  RetryOptions.newBuilder()
                      .setInitialInterval(Duration.ofSeconds(1))
                      .setMaximumInterval(Duration.ofSeconds(30))
                      .build())
              .build());

  private final List<PendingEvent> pending = new ArrayList<>();
  private int shard;
  private long applied;
  private long batches;
  private Long lastBatchAtMillis;
  private int batchSeq;

  public EventIngestWorkflowImpl(IngestSettings settings) {
    this.configured = settings;
  }

  public EventIngestWorkflowImpl() {
    this(IngestSettings.DEFAULTS);
  }

  @Override
  public void run(IngestState state) {
    settings = Workflow.sideEffect(IngestSettings.class, () -> configured);
    IngestState start = state == null ? IngestState.empty() : state;
    // Signals may have been buffered before run() starts; carried events go first.
    pending.addAll(0, start.pendingOrEmpty());
    applied = start.applied();
    batches = start.batches();
    lastBatchAtMillis = start.lastBatchAtMillis();
    shard = Shards.shardFromWorkflowId(Workflow.getInfo().getWorkflowId());
    if (Workflow.getInfo().getContinuedExecutionRunId().isEmpty()) {
      Workflow.upsertMemo(Map.of("shard", shard, "description", "Bucketflow event ingest shard " + shard));
    }
    while (true) {
      Workflow.await(() -> !pending.isEmpty());
      applyOneBatch();
      if (shouldContinueAsNew()) {
        Workflow.await(Workflow::isEveryHandlerFinished);
        log.info("shard {} continuing as new: applied={} carrying={}", shard, applied, pending.size());
        Workflow.continueAsNew(
            new IngestState(List.copyOf(pending), applied, batches, lastBatchAtMillis));
      }
    }
  }

  private void applyOneBatch() {
    int n = Math.min(settings.maxBatchSize(), pending.size());
    List<PendingEvent> batch = List.copyOf(pending.subList(0, n));
    String batchId =
        Workflow.getInfo().getWorkflowId() + "/" + Workflow.getInfo().getRunId() + "/" + batchSeq++;
    activities.ingest(new IngestBatch(batchId, shard, batch));
    pending.subList(0, n).clear();
    applied += n;
    batches++;
    lastBatchAtMillis = Workflow.currentTimeMillis();
  }

  /**
   * Continue as new once the history passes the threshold, but only with a small carry-over (the
   * carried events travel in one payload); the server's own suggestion forces it regardless.
   */
  private boolean shouldContinueAsNew() {
    long length = Workflow.getInfo().getHistoryLength();
    boolean past = length >= settings.continueAsNewAfter();
    return (past && pending.size() <= settings.maxBatchSize())
        || length >= 4L * settings.continueAsNewAfter()
        || Workflow.getInfo().isContinueAsNewSuggested();
  }

  @Override
  public void event(JsonNode event) {
    pending.add(new PendingEvent(event, Workflow.currentTimeMillis()));
  }

  @Override
  public void events(List<JsonNode> events) {
    if (events == null) return;
    long now = Workflow.currentTimeMillis();
    for (JsonNode e : events) pending.add(new PendingEvent(e, now));
  }

  @Override
  public void deleteContact(JsonNode request) {
    pending.add(new PendingEvent(request, Workflow.currentTimeMillis(), PendingEvent.DELETE_CONTACT));
  }

  @Override
  public void addToBucket(JsonNode request) {
    pending.add(new PendingEvent(request, Workflow.currentTimeMillis(), PendingEvent.ADD_TO_BUCKET));
  }

  @Override
  public void removeFromBucket(JsonNode request) {
    pending.add(new PendingEvent(request, Workflow.currentTimeMillis(), PendingEvent.REMOVE_FROM_BUCKET));
  }

  @Override
  public IngestStats stats() {
    String last = lastBatchAtMillis == null ? null : Instant.ofEpochMilli(lastBatchAtMillis).toString();
    return new IngestStats(shard, applied, pending.size(), batches, last);
  }
}
