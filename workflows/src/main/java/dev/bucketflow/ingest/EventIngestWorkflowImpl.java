package dev.bucketflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bucketflow.shard.Shards;
import io.temporal.activity.ActivityOptions;
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
 *
 * <p>Byte budget (version {@link #BYTE_BUDGET} on): every activity input and the continue-as-new
 * input stay under {@link IngestSettings#maxPayloadBytes()}. Items are checked at the signal
 * handler ({@link PendingEvent#admit}), so no single item exceeds 32 KiB; batches are cut by bytes
 * as well as count; at continue-as-new, what does not fit the carried input is spilled to
 * PostgreSQL in budget-sized segments and read back, in order, by the next run. The logical queue
 * is always {@code pending ++ spilled ++ incoming}: while segments are outstanding, new signals
 * wait in {@code incoming}, so no user's events are reordered.
 */
public class EventIngestWorkflowImpl implements EventIngestWorkflow {

  private static final Logger log = Workflow.getLogger(EventIngestWorkflowImpl.class);

  /** getVersion change id of byte-bounded batches, door checks and spilling. */
  static final String BYTE_BUDGET = "byte-budget";

  /**
   * getVersion change id of continuing as new only from a workflow task the worker served from its
   * cache (see {@link #mayContinueAsNewNow}).
   */
  static final String CONTINUE_FROM_CACHE = "continue-from-cache";

  /**
   * Continue-as-new waits at most this many batches for a cached workflow task; a worker that
   * caches nothing (every task a full replay) still continues as new after them.
   */
  static final int MAX_CONTINUE_DEFERRALS = 5;

  /** Room kept in a payload for everything around the events (ids, totals, segment ids). */
  private static final int FRAME_BYTES = 4096;

  private final IngestSettings configured;

  /**
   * The settings of this run, recorded in history so a redeploy with other settings replays the
   * same batches.
   */
  private IngestSettings settings;

  // Retries forever: a batch is never dropped; bad events are rejected inside, not thrown.
  private final IngestActivities activities =
      Workflow.newActivityStub(
          IngestActivities.class,
          ActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofMinutes(2))
              // A killed worker's batch is retried elsewhere within seconds (see Liveness).
              .setHeartbeatTimeout(dev.bucketflow.Liveness.HEARTBEAT_TIMEOUT)
              .setRetryOptions(dev.bucketflow.Liveness.retryForever())
              .build());

  private List<PendingEvent> pending = new ArrayList<>();

  /** Outstanding spill segments are the contiguous sequence numbers [spillHead, spillTail). */
  private long spillHead;

  private long spillTail;
  private long spilledEvents;
  private final List<PendingEvent> incoming = new ArrayList<>();
  private final List<String> toRelease = new ArrayList<>();
  private boolean byteBudget;

  /** Set while the run spills before continuing as new. */
  private boolean closing;

  private int shard;
  private long applied;
  private long batches;
  private Long lastBatchAtMillis;
  private int batchSeq;

  /**
   * History length of the first workflow task this instance executed live (not replaying), or -1.
   * Differs between an original execution and a replay, so it is read only inside a side effect.
   */
  private long liveSinceHistoryLength = -1;

  private int continueDeferrals;

  /**
   * Whether this worker keeps runs cached between tasks (sticky execution on). Without, every task
   * is a full replay and waiting for a cached one would only cost batches.
   */
  private final boolean workerCachesRuns;

  public EventIngestWorkflowImpl(IngestSettings settings, boolean workerCachesRuns) {
    this.configured = settings;
    this.workerCachesRuns = workerCachesRuns;
  }

  public EventIngestWorkflowImpl(IngestSettings settings) {
    this(settings, true);
  }

  public EventIngestWorkflowImpl() {
    this(IngestSettings.DEFAULTS);
  }

  @Override
  public void run(IngestState state) {
    settings = Workflow.sideEffect(IngestSettings.class, () -> configured);
    byteBudget = Workflow.getVersion(BYTE_BUDGET, Workflow.DEFAULT_VERSION, 1) >= 1;
    IngestState start = state == null ? IngestState.empty() : state;
    // Signals may have been buffered before run() starts; carried events (and spill) go first.
    List<PendingEvent> early = new ArrayList<>(pending);
    pending = new ArrayList<>(start.pendingOrEmpty());
    spillHead = start.spillHead();
    spillTail = start.spillTail();
    spilledEvents = start.spilledEvents();
    (noSpill() ? pending : incoming).addAll(early);
    applied = start.applied();
    batches = start.batches();
    lastBatchAtMillis = start.lastBatchAtMillis();
    shard = Shards.shardFromWorkflowId(Workflow.getInfo().getWorkflowId());
    if (Workflow.getInfo().getContinuedExecutionRunId().isEmpty()) {
      Workflow.upsertMemo(
          Map.of("shard", shard, "description", "Bucketflow event ingest shard " + shard));
    }
    while (true) {
      noteLive();
      Workflow.await(() -> !pending.isEmpty() || !noSpill());
      noteLive();
      if (pending.isEmpty()) loadNextSegment();
      if (!pending.isEmpty()) applyOneBatch();
      noteLive();
      if (shouldContinueAsNew() && mayContinueAsNewNow()) {
        Workflow.await(Workflow::isEveryHandlerFinished);
        IngestState next =
            byteBudget
                ? carryWithinBudget()
                : new IngestState(List.copyOf(pending), applied, batches, lastBatchAtMillis);
        log.info(
            "shard {} continuing as new: applied={} carrying={} spilled segments={}",
            shard,
            applied,
            next.pendingOrEmpty().size(),
            next.spillTail() - next.spillHead());
        Workflow.continueAsNew(next);
      }
    }
  }

  private void loadNextSegment() {
    String id = segmentId(spillHead);
    SpillSegment segment = activities.loadSpill(id);
    spillHead++;
    pending.addAll(segment.events());
    spilledEvents = Math.max(0, spilledEvents - segment.events().size());
    toRelease.add(id);
    if (noSpill()) {
      // From now on signals append to pending; what waited behind the spill goes first.
      pending.addAll(incoming);
      incoming.clear();
    }
  }

  private void applyOneBatch() {
    int n = Math.min(settings.maxBatchSize(), pending.size());
    if (byteBudget) {
      long budget = settings.maxPayloadBytes() - FRAME_BYTES - 200L * toRelease.size();
      long used = 0;
      int fit = 0;
      while (fit < n) {
        used += pending.get(fit).serializedBytes(budget);
        if (used > budget && fit > 0) break;
        fit++;
      }
      n = fit;
    }
    List<PendingEvent> batch = List.copyOf(pending.subList(0, n));
    String batchId =
        Workflow.getInfo().getWorkflowId() + "/" + Workflow.getInfo().getRunId() + "/" + batchSeq++;
    activities.ingest(new IngestBatch(batchId, shard, batch, List.copyOf(toRelease)));
    toRelease.clear();
    pending.subList(0, n).clear();
    applied += n;
    batches++;
    lastBatchAtMillis = Workflow.currentTimeMillis();
    // Current details (Web UI, describe): no command, so replay-safe without a version marker.
    Workflow.setCurrentDetails(
        "shard "
            + shard
            + " · applied "
            + applied
            + " events in "
            + batches
            + " batches · pending "
            + pending.size()
            + " · last batch "
            + java.time.Instant.ofEpochMilli(lastBatchAtMillis));
  }

  /**
   * The next run's input, under the budget: a prefix of the queue rides along, the rest is spilled
   * in segments that each fit the budget. With segments already outstanding, pending (one segment
   * or one carried prefix, so it fits) rides along and the arrivals behind the spill are spilled
   * after it.
   */
  private IngestState carryWithinBudget() {
    // From here on arrivals wait in incoming: the spill activities below yield, and whatever
    // arrives meanwhile is spilled after everything taken now.
    closing = true;
    long budget = settings.maxPayloadBytes() - FRAME_BYTES - 200L * toRelease.size();
    List<PendingEvent> carry;
    List<PendingEvent> rest;
    if (noSpill()) {
      List<PendingEvent> all = List.copyOf(pending);
      int fit = prefixFitting(all, 0, budget / 2);
      carry = all.subList(0, fit);
      rest = all.subList(fit, all.size());
    } else {
      carry = List.copyOf(pending);
      rest = List.copyOf(incoming);
      incoming.clear();
    }
    long spilledCount = spilledEvents;
    while (true) {
      spilledCount += spillAll(rest);
      if (incoming.isEmpty()) break;
      rest = List.copyOf(incoming);
      incoming.clear();
    }
    return new IngestState(
        List.copyOf(carry),
        applied,
        batches,
        lastBatchAtMillis,
        spillHead,
        spillTail,
        spilledCount);
  }

  /**
   * Spills {@code items} in budget-sized segments at the tail of the sequence; returns the count.
   */
  private int spillAll(List<PendingEvent> items) {
    long segmentBudget = settings.maxPayloadBytes() - FRAME_BYTES;
    int from = 0;
    while (from < items.size()) {
      int to = from + prefixFitting(items, from, segmentBudget);
      activities.spill(
          new SpillSegment(segmentId(spillTail), shard, List.copyOf(items.subList(from, to))));
      spillTail++;
      from = to;
    }
    return items.size();
  }

  private boolean noSpill() {
    return spillHead >= spillTail;
  }

  /**
   * {@code <workflowId>/<seq>}: the sequence runs on across continue-as-new, so the carried state
   * is two numbers however much is spilled. A chain started afresh reuses numbers; the spill writes
   * (upserts) every segment before it is read, so a stale row is never read.
   */
  private String segmentId(long seq) {
    return Workflow.getInfo().getWorkflowId() + "/" + seq;
  }

  /** How many items from {@code from} fit {@code budget} bytes (at least one). */
  private static int prefixFitting(List<PendingEvent> items, int from, long budget) {
    long used = 0;
    int i = from;
    while (i < items.size()) {
      used += items.get(i).serializedBytes(budget);
      if (used > budget && i > from) break;
      i++;
    }
    return i - from;
  }

  /**
   * Continue as new once the history passes the threshold, but only with a small carry-over (the
   * carried events travel in one payload); the server's own suggestion forces it regardless.
   */
  private boolean shouldContinueAsNew() {
    long length = Workflow.getInfo().getHistoryLength();
    boolean past = length >= settings.continueAsNewAfter();
    return (past && pending.size() <= settings.maxBatchSize()) || forcedToContinueAsNew();
  }

  private boolean forcedToContinueAsNew() {
    return Workflow.getInfo().getHistoryLength() >= 4L * settings.continueAsNewAfter()
        || Workflow.getInfo().isContinueAsNewSuggested();
  }

  /**
   * How far past the threshold this shard's runs go (continue-from-cache on): shard {@code n} waits
   * {@code (n mod 8) / 16} of the threshold more. Why: shards under the same load reach the
   * threshold together, and their continue-as-new tasks, each a cache eviction and, when a signal
   * races it, a full replay, then compete for the same cores at once; staggered, they take turns.
   */
  public static long staggerOf(int shard, int continueAsNewAfter) {
    return (long) continueAsNewAfter * Math.floorMod(shard, 8) / 16;
  }

  private void noteLive() {
    if (liveSinceHistoryLength < 0 && !Workflow.isReplaying()) {
      liveSinceHistoryLength = Workflow.getInfo().getHistoryLength();
    }
  }

  /**
   * Whether to continue as new in this workflow task, or apply one more batch first.
   *
   * <p>Why: the server refuses a continue-as-new (UnhandledCommand) when a signal arrived while its
   * workflow task ran, and a shard receives signals all the time. The SDK has already dropped a run
   * that sent a final command from its cache, so the retried task replays the whole run (some
   * thousand events, hundreds of milliseconds), during which more signals surely arrive: refused
   * again, replayed again, the shard stalled until traffic pauses. So a task that is such a full
   * replay (this instance went live in it) applies a batch (the signals that caused the refusal)
   * instead; the next task is served from the cache, fast, and continues as new with the usual
   * small chance of a race. Whether the task was cached is recorded as a side effect, so a replay
   * takes the same decision; at most {@link #MAX_CONTINUE_DEFERRALS} times per run, and never on a
   * worker without sticky execution (where every task is a full replay).
   */
  private boolean mayContinueAsNewNow() {
    if (Workflow.getVersion(CONTINUE_FROM_CACHE, Workflow.DEFAULT_VERSION, 1)
        == Workflow.DEFAULT_VERSION) {
      return true;
    }
    if (!forcedToContinueAsNew()
        && Workflow.getInfo().getHistoryLength()
            < settings.continueAsNewAfter() + staggerOf(shard, settings.continueAsNewAfter())) {
      return false;
    }
    if (continueDeferrals >= MAX_CONTINUE_DEFERRALS) return true;
    // Read only inside the side effect: differs between the original execution and a replay.
    boolean cached =
        !workerCachesRuns
            || (liveSinceHistoryLength >= 0
                && liveSinceHistoryLength < Workflow.getInfo().getHistoryLength());
    if (Workflow.sideEffect(Boolean.class, () -> cached)) return true;
    continueDeferrals++;
    log.info(
        "shard {} continues as new after one more batch: this workflow task replayed the run",
        shard);
    return false;
  }

  private void enqueue(JsonNode payload, long receivedAtMillis, String op) {
    noteLive();
    PendingEvent item =
        byteBudgetOrUnknown()
            ? PendingEvent.admit(payload, receivedAtMillis, op)
            : new PendingEvent(payload, receivedAtMillis, op);
    (noSpill() && !closing ? pending : incoming).add(item);
  }

  /**
   * Signals may arrive before run() has read the version; door checks are then applied (they only
   * ever replace an item that could not have travelled anyway).
   */
  private boolean byteBudgetOrUnknown() {
    return settings == null || byteBudget;
  }

  @Override
  public void event(JsonNode event) {
    enqueue(event, Workflow.currentTimeMillis(), null);
  }

  @Override
  public void events(List<JsonNode> events) {
    if (events == null) return;
    long now = Workflow.currentTimeMillis();
    for (JsonNode e : events) enqueue(e, now, null);
  }

  @Override
  public void deleteContact(JsonNode request) {
    enqueue(request, Workflow.currentTimeMillis(), PendingEvent.DELETE_CONTACT);
  }

  @Override
  public void addToBucket(JsonNode request) {
    enqueueOps(request, PendingEvent.ADD_TO_BUCKET);
  }

  @Override
  public void removeFromBucket(JsonNode request) {
    enqueueOps(request, PendingEvent.REMOVE_FROM_BUCKET);
  }

  /**
   * One request, or an array of them (bulk imports: one signal per hundred users instead of one per
   * user); each element is its own operation, in array order, checked at the door like one.
   */
  private void enqueueOps(JsonNode request, String op) {
    long now = Workflow.currentTimeMillis();
    if (request != null && request.isArray()) {
      for (JsonNode r : request) enqueue(r, now, op);
    } else {
      enqueue(request, now, op);
    }
  }

  @Override
  public IngestStats stats() {
    String last =
        lastBatchAtMillis == null ? null : Instant.ofEpochMilli(lastBatchAtMillis).toString();
    int waiting =
        (int) Math.min(Integer.MAX_VALUE, pending.size() + incoming.size() + spilledEvents);
    return new IngestStats(shard, applied, waiting, batches, last);
  }
}
