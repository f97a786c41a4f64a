package dev.bucketflow.backfill;

import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BackfillStatus;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.dispatch.OutboxRow;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.MutableClock;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The backfill workflow with the real activities over a real database. */
class BackfillWorkflowDbTest extends DatabaseTest {

  private static final String QUEUE = "backfill-db-test";
  static final int CHUNK = 3;

  MutableClock clock;
  BackfillFixture data;
  TestWorkflowEnvironment env;
  WorkflowClient client;
  final List<OutboxRow> dispatched = Collections.synchronizedList(new ArrayList<>());

  @BeforeEach
  void reset() {
    BackfillFixture.reset(dsl);
    clock = new MutableClock(BackfillServiceTest.NOW);
    data = new BackfillFixture(dsl);
    env = TestWorkflowEnvironment.newInstance();
    client = env.getWorkflowClient();
  }

  @AfterEach
  void stop() {
    env.close();
  }

  BackfillService startWorker(BucketDefinition bucket) {
    BackfillService service = BackfillFixture.service(dsl, List.of(bucket), clock, CHUNK);
    OutboxDispatcher dispatcher = OutboxDispatcher.of(dsl, List.of(dispatched::add), clock);
    Worker worker = env.newWorker(QUEUE);
    worker.registerWorkflowImplementationTypes(BackfillWorkflowImpl.class);
    worker.registerActivitiesImplementations(
        new BackfillActivitiesImpl(service, new dev.bucketflow.testing.DrainingWake(dispatcher)));
    env.start();
    return service;
  }

  BackfillWorkflow stub(BucketDefinition bucket) {
    return client.newWorkflowStub(
        BackfillWorkflow.class,
        WorkflowOptions.newBuilder()
            .setWorkflowId(BackfillWorkflow.workflowId(bucket.id(), BucketJson.fingerprint(bucket)))
            .setTaskQueue(QUEUE)
            .build());
  }

  @Test
  void firstTimeBackfillCompletesAndItsProgressQueryReportsEveryContact() {
    data.randomUsers("u", 20, 21, BackfillServiceTest.NOW, 6);
    BucketDefinition bucket = BackfillServiceTest.POWER;
    BackfillService service = startWorker(bucket);
    String hash = BucketJson.fingerprint(bucket);
    BackfillWorkflow wf = stub(bucket);

    BackfillProgress result =
        wf.run(BackfillRequest.of(bucket.id(), hash, service.plan(bucket).kind().orElseThrow()));

    int live = data.liveContacts().size();
    var expected = data.expectedMembers(bucket, BackfillServiceTest.NOW);
    assertThat(live).isLessThan(20);
    assertThat(expected).isNotEmpty();
    assertThat(wf.progress()).isEqualTo(result);
    assertThat(result)
        .isEqualTo(new BackfillProgress(live, live, expected.size(), 0, BackfillStatus.COMPLETED));
    assertThat(data.activeMembers(bucket.id())).isEqualTo(expected);
    assertThat(service.storedHash(bucket.id())).isEqualTo(hash);
    assertThat(service.plan(bucket)).isEqualTo(BackfillService.Plan.NONE);

    // Joins reached the outbox targets as silent (emitted=false) joins, and were marked dispatched.
    assertThat(dispatched)
        .hasSize(expected.size())
        .allMatch(r -> r.entered() && !r.emitted() && r.source() == MembershipSource.BACKFILL);
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS, BUCKET_TRANSITIONS.DISPATCHED_AT.isNull()))
        .isZero();
    assertThat(data.bucketUserEvents("bucket:%")).isZero();

    var description = WorkflowStub.fromTyped(wf).describe();
    assertThat(description.getMemo("bucketId", String.class)).isEqualTo("power");
    assertThat(description.getMemo("hash", String.class)).isEqualTo(hash);
    assertThat(description.getMemo("kind", String.class)).isEqualTo("first_time");
  }

  @Test
  void aChunkThatDiesMidTransactionIsRetriedAndTheJobCompletesWithoutDuplicates() {
    data.randomUsers("u", 24, 8, BackfillServiceTest.NOW, 0);
    BucketDefinition bucket = BackfillServiceTest.POWER;
    BackfillService service = startWorker(bucket);
    AtomicInteger chunks = new AtomicInteger();
    service.afterInsert(
        joined -> {
          if (chunks.incrementAndGet() == 3)
            throw new IllegalStateException("worker killed mid-chunk");
        });

    BackfillProgress result =
        stub(bucket)
            .run(
                BackfillRequest.of(
                    bucket.id(), BucketJson.fingerprint(bucket), BackfillKind.FIRST_TIME));

    var expected = data.expectedMembers(bucket, BackfillServiceTest.NOW);
    assertThat(chunks.get()).as("8 chunks plus the crashed attempt").isEqualTo(24 / CHUNK + 1);
    assertThat(result)
        .isEqualTo(new BackfillProgress(24, 24, expected.size(), 0, BackfillStatus.COMPLETED));
    assertThat(data.activeMembers(bucket.id())).isEqualTo(expected);
    assertThat(data.duplicateActives(bucket.id())).isEmpty();
    assertThat(dsl.fetchCount(BUCKET_TRANSITIONS)).isEqualTo(expected.size());
  }

  @Test
  void reevaluationThroughTheWorkflowEmitsLeavesToTheOutbox() {
    data.randomUsers("u", 18, 4, BackfillServiceTest.NOW, 0);
    BackfillService first =
        BackfillFixture.service(dsl, List.of(BackfillServiceTest.POWER), clock, CHUNK);
    BackfillJob job =
        first.open(
            "power", BucketJson.fingerprint(BackfillServiceTest.POWER), BackfillKind.FIRST_TIME);
    BackfillFixture.runToEnd(first, job);
    var before = data.activeMembers("power");

    BucketDefinition changed = BackfillServiceTest.POWER_PRO;
    BackfillService service = startWorker(changed);
    assertThat(service.plan(changed)).isEqualTo(BackfillService.Plan.REEVAL);
    BackfillProgress result =
        stub(changed)
            .run(BackfillRequest.of("power", BucketJson.fingerprint(changed), BackfillKind.REEVAL));

    var expected = data.expectedMembers(changed, BackfillServiceTest.NOW);
    var leavers = new java.util.TreeSet<>(before);
    leavers.removeAll(expected);
    assertThat(leavers).isNotEmpty();
    assertThat(result.left()).isEqualTo(leavers.size());
    assertThat(data.activeMembers("power")).isEqualTo(expected);
    assertThat(
            dispatched.stream().filter(r -> !r.entered()).map(OutboxRow::userId).sorted().toList())
        .containsExactlyElementsOf(leavers);
    assertThat(dispatched).filteredOn(r -> !r.entered()).allMatch(OutboxRow::emitted);
    assertThat(dispatched).filteredOn(OutboxRow::entered).noneMatch(OutboxRow::emitted);
  }
}
