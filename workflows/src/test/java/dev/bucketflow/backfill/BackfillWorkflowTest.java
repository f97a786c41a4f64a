package dev.bucketflow.backfill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;
import io.temporal.activity.Activity;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.failure.ApplicationFailure;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.testing.WorkflowReplayer;
import io.temporal.worker.Worker;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The workflow's control flow over an in-memory job (the real activities are tested in activities).
 */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(2)
class BackfillWorkflowTest {

  private static final String QUEUE = "backfill-test";
  private static final String HASH =
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

  /** A job of {@code chunks} chunks of 10 contacts, each joining 2 and leaving 1. */
  static final class FakeBackfill implements BackfillActivities {
    volatile int chunks = 5;
    volatile BackfillStatus initialStatus = BackfillStatus.RUNNING;
    final AtomicInteger processedChunks = new AtomicInteger();
    final AtomicInteger opens = new AtomicInteger();
    final AtomicInteger attempts = new AtomicInteger();
    final Set<Integer> transientFailureAt = ConcurrentHashMap.newKeySet();
    volatile int fatalAt = -1;
    final List<String> completed = Collections.synchronizedList(new ArrayList<>());
    final List<String> failed = Collections.synchronizedList(new ArrayList<>());
    final Set<String> runIds = ConcurrentHashMap.newKeySet();

    BackfillJob job(BackfillStatus status) {
      int done = processedChunks.get();
      return new BackfillJob(
          7,
          "b1",
          HASH,
          BackfillKind.FIRST_TIME,
          status,
          chunks * 10L,
          done * 10L,
          done * 2L,
          done,
          done == 0 ? null : "u" + done);
    }

    @Override
    public BackfillJob open(BackfillRequest request) {
      opens.incrementAndGet();
      runIds.add(Activity.getExecutionContext().getInfo().getRunId());
      return job(initialStatus);
    }

    @Override
    public ChunkResult runChunk(long jobId) {
      attempts.incrementAndGet();
      int next = processedChunks.get() + 1;
      if (next == fatalAt)
        throw ApplicationFailure.newNonRetryableFailure("chunk " + next + " is poison", "Poison");
      if (transientFailureAt.remove(next)) throw new IllegalStateException("database restarting");
      processedChunks.incrementAndGet();
      return new ChunkResult(next * 10L, chunks * 10L, 2, 1, next >= chunks);
    }

    @Override
    public void complete(long jobId) {
      completed.add("job" + jobId);
    }

    @Override
    public void fail(long jobId, String error) {
      failed.add("job" + jobId + ":" + error);
    }
  }

  private TestWorkflowEnvironment env;
  private FakeBackfill activities;
  private WorkflowClient client;

  @BeforeEach
  void start() {
    env = TestWorkflowEnvironment.newInstance();
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(BackfillWorkflowImpl.class);
    activities = new FakeBackfill();
    worker.registerActivitiesImplementations(activities);
    env.start();
    client = env.getWorkflowClient();
  }

  @AfterEach
  void stop() {
    env.close();
  }

  private BackfillWorkflow stub() {
    return client.newWorkflowStub(
        BackfillWorkflow.class,
        WorkflowOptions.newBuilder()
            .setWorkflowId(BackfillWorkflow.workflowId("b1", HASH))
            .setTaskQueue(QUEUE)
            .build());
  }

  @Test
  void workflowIdNamesTheBucketAndTheFirst16HexOfTheHash() {
    assertThat(BackfillWorkflow.workflowId("b1", HASH))
        .isEqualTo("bucketflow-backfill-b1-0123456789abcdef");
    assertThat(BackfillWorkflow.workflowId("b1", "abc")).isEqualTo("bucketflow-backfill-b1-abc");
  }

  @Test
  void runsChunksUntilDoneThenCompletesAndReportsProgress() {
    BackfillWorkflow wf = stub();
    BackfillProgress result = wf.run(BackfillRequest.of("b1", HASH, BackfillKind.FIRST_TIME));

    assertThat(result).isEqualTo(new BackfillProgress(50, 50, 10, 5, BackfillStatus.COMPLETED));
    assertThat(wf.progress()).isEqualTo(result);
    assertThat(activities.completed).containsExactly("job7");
    assertThat(activities.failed).isEmpty();
    var memo = WorkflowStub.fromTyped(wf).describe();
    assertThat(memo.getMemo("bucketId", String.class)).isEqualTo("b1");
    assertThat(memo.getMemo("hash", String.class)).isEqualTo(HASH);
    assertThat(memo.getMemo("kind", String.class)).isEqualTo("first_time");
  }

  @Test
  void transientChunkFailuresAreRetriedWithoutLosingProgress() {
    activities.transientFailureAt.addAll(Set.of(2, 4));
    BackfillProgress result = stub().run(BackfillRequest.of("b1", HASH, BackfillKind.FIRST_TIME));

    assertThat(result.status()).isEqualTo(BackfillStatus.COMPLETED);
    assertThat(result.processed()).isEqualTo(50);
    assertThat(activities.attempts).hasValue(7);
    assertThat(activities.completed).hasSize(1);
  }

  @Test
  void aFatalChunkFailureMarksTheJobFailedAndFailsTheWorkflow() {
    activities.fatalAt = 3;
    BackfillWorkflow wf = stub();
    assertThatThrownBy(() -> wf.run(BackfillRequest.of("b1", HASH, BackfillKind.REEVAL)))
        .isInstanceOf(WorkflowFailedException.class)
        .rootCause()
        .hasMessageContaining("failed: chunk 3 is poison");

    assertThat(activities.failed).containsExactly("job7:chunk 3 is poison");
    assertThat(activities.completed).isEmpty();
    assertThat(wf.progress()).isEqualTo(new BackfillProgress(20, 50, 4, 2, BackfillStatus.FAILED));
  }

  @Test
  void anAlreadyCompletedJobEndsAtOnce() {
    activities.initialStatus = BackfillStatus.COMPLETED;
    activities.processedChunks.set(5);
    BackfillProgress result = stub().run(BackfillRequest.of("b1", HASH, BackfillKind.FIRST_TIME));

    assertThat(result).isEqualTo(new BackfillProgress(50, 50, 10, 5, BackfillStatus.COMPLETED));
    assertThat(activities.attempts).hasValue(0);
    assertThat(activities.completed).isEmpty();
  }

  @Test
  void continuesAsNewEveryChunksPerRunChunksAndResumesFromTheJobRow() {
    activities.chunks = BackfillWorkflowImpl.CHUNKS_PER_RUN * 2 + 17;
    BackfillWorkflow wf = stub();
    BackfillProgress result = wf.run(BackfillRequest.of("b1", HASH, BackfillKind.FIRST_TIME));

    assertThat(result.processed()).isEqualTo(activities.chunks * 10L);
    assertThat(result.status()).isEqualTo(BackfillStatus.COMPLETED);
    assertThat(activities.opens).hasValue(3);
    assertThat(activities.runIds).as("three runs of one workflow id").hasSize(3);
    assertThat(activities.attempts).hasValue(activities.chunks);
    assertThat(activities.completed).containsExactly("job7");
    var memo = WorkflowStub.fromTyped(wf).describe();
    assertThat(memo.getMemo("hash", String.class)).as("memo on the latest run").isEqualTo(HASH);
  }

  @Test
  void historiesOfEveryPathReplayDeterministically() throws Exception {
    String id = BackfillWorkflow.workflowId("b1", HASH);
    activities.chunks = BackfillWorkflowImpl.CHUNKS_PER_RUN + 3;
    activities.transientFailureAt.add(2);
    stub().run(BackfillRequest.of("b1", HASH, BackfillKind.FIRST_TIME));
    var last = client.fetchHistory(id);
    String firstRunId =
        last.getEvents()
            .get(0)
            .getWorkflowExecutionStartedEventAttributes()
            .getFirstExecutionRunId();
    WorkflowReplayer.replayWorkflowExecution(
        client.fetchHistory(id, firstRunId), BackfillWorkflowImpl.class);
    WorkflowReplayer.replayWorkflowExecution(last, BackfillWorkflowImpl.class);

    activities.processedChunks.set(0);
    activities.fatalAt = 2;
    BackfillWorkflow failing =
        client.newWorkflowStub(
            BackfillWorkflow.class,
            WorkflowOptions.newBuilder().setWorkflowId("failing").setTaskQueue(QUEUE).build());
    assertThatThrownBy(() -> failing.run(BackfillRequest.of("b1", HASH, BackfillKind.REEVAL)))
        .isInstanceOf(WorkflowFailedException.class);
    WorkflowReplayer.replayWorkflowExecution(
        client.fetchHistory("failing"), BackfillWorkflowImpl.class);
  }
}
