package dev.bucketflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.api.common.v1.WorkflowType;
import io.temporal.api.taskqueue.v1.TaskQueue;
import io.temporal.api.workflowservice.v1.PollWorkflowTaskQueueRequest;
import io.temporal.api.workflowservice.v1.StartWorkflowExecutionRequest;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.testserver.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The test server's task queues: as shipped, a backlog of tasks of one priority is served out of
 * arrival order (newest first, mostly); with {@link TestServerTaskQueues#servedInArrivalOrder} it
 * is served in arrival order, priorities still first. Driven by raw gRPC polls, so nothing but the
 * server decides the order.
 */
class TestServerTaskQueuesTest {

  static final int WORKFLOWS = 30;

  TestServer.PortBoundTestServer server;
  WorkflowServiceStubs service;

  @BeforeEach
  void startServer() {
    int port = WorkerHarness.freePort();
    server = TestServer.createPortBoundServer(port, true);
    service = Temporal.connect("127.0.0.1:" + port);
  }

  @AfterEach
  void stopServer() {
    service.shutdownNow();
    server.close();
  }

  /**
   * Starts {@link #WORKFLOWS} workflows (each queues its first workflow task) with nobody polling,
   * then polls the queue once per task; returns the workflow ids in the order they were served.
   */
  List<String> servedOrder(boolean fixed, String queueUsedBefore) {
    // A queue created before the fix (its backlog moved) or after it (patched as it is made).
    if (queueUsedBefore != null) start(queueUsedBefore, "early", 0);
    if (fixed) assertThat(TestServerTaskQueues.servedInArrivalOrder(server)).isTrue();
    String queue = queueUsedBefore != null ? queueUsedBefore : "fresh";
    for (int i = 0; i < WORKFLOWS; i++) start(queue, "wf-" + i, 0);
    List<String> served = new ArrayList<>();
    for (int i = 0; i < WORKFLOWS + (queueUsedBefore != null ? 1 : 0); i++) served.add(poll(queue));
    return served;
  }

  /** {@code priorityKey} 0: none set (the server's default, 3). */
  void start(String queue, String id, int priorityKey) {
    StartWorkflowExecutionRequest.Builder request =
        StartWorkflowExecutionRequest.newBuilder()
            .setNamespace("default")
            .setWorkflowId(id)
            .setWorkflowType(WorkflowType.newBuilder().setName("Anything"))
            .setTaskQueue(TaskQueue.newBuilder().setName(queue))
            .setRequestId(UUID.randomUUID().toString());
    if (priorityKey > 0)
      request.setPriority(
          io.temporal.api.common.v1.Priority.newBuilder().setPriorityKey(priorityKey));
    service.blockingStub().startWorkflowExecution(request.build());
  }

  /** The workflow id of the next workflow task the server hands out on {@code queue}. */
  String poll(String queue) {
    return service
        .blockingStub()
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .pollWorkflowTaskQueue(
            PollWorkflowTaskQueueRequest.newBuilder()
                .setNamespace("default")
                .setTaskQueue(TaskQueue.newBuilder().setName(queue))
                .setIdentity("order-test")
                .build())
        .getWorkflowExecution()
        .getWorkflowId();
  }

  @Test
  void fixedPrioritiesStillGoFirstThroughTheServerAndEachKeepsArrivalOrder() {
    assertThat(TestServerTaskQueues.servedInArrivalOrder(server)).isTrue();
    // Key 0 is unset: the default, 3 (what clients that set nothing, like ingest's, get).
    int[] keys = {5, 3, 1, 0, 5, 1, 3, 0, 1};
    for (int i = 0; i < keys.length; i++) start("mixed", "p" + i, keys[i]);
    List<String> served = new ArrayList<>();
    for (int i = 0; i < keys.length; i++) served.add(poll("mixed"));
    assertThat(served).containsExactly("p2", "p5", "p8", "p1", "p3", "p6", "p7", "p0", "p4");
  }

  static List<String> arrivalOrder() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < WORKFLOWS; i++) ids.add("wf-" + i);
    return ids;
  }

  @Test
  void asShippedABacklogOfOnePriorityIsNotServedInArrivalOrder() {
    // If this fails, the SDK serves in arrival order already and TestServerTaskQueues can go.
    List<String> served = servedOrder(false, null);
    assertThat(served).containsExactlyInAnyOrderElementsOf(arrivalOrder());
    assertThat(served).isNotEqualTo(arrivalOrder());
  }

  @Test
  void fixedTheBacklogOfANewQueueIsServedInArrivalOrder() {
    assertThat(servedOrder(true, null)).isEqualTo(arrivalOrder());
  }

  @Test
  void fixedAQueueThatExistedBeforeKeepsItsTaskAndServesTheRestInArrivalOrder() {
    List<String> served = servedOrder(true, "existing");
    List<String> expected = new ArrayList<>(List.of("early"));
    expected.addAll(arrivalOrder());
    assertThat(served).isEqualTo(expected);
  }

  @Test
  void aHigherPriorityStillGoesFirstAndTiesKeepArrivalOrder() {
    var backlog =
        TestServerTaskQueues.ArrivalOrderBacklog.of(
            java.util.Comparator.comparingInt(o -> ((String) o).charAt(0) - '0'));
    for (String s : List.of("3a", "3b", "1a", "3c", "1b", "5a", "3d")) backlog.add(s);
    List<Object> out = new ArrayList<>();
    for (Object o = backlog.poll(); o != null; o = backlog.poll()) out.add(o);
    assertThat(out).containsExactly("1a", "1b", "3a", "3b", "3c", "3d", "5a");
    // The plain heap, for contrast: ties come out in another order.
    PriorityQueue<String> plain =
        new PriorityQueue<>(java.util.Comparator.comparingInt(s -> s.charAt(0) - '0'));
    for (String s : List.of("3a", "3b", "3c", "3d", "3e")) plain.add(s);
    List<String> plainOut = new ArrayList<>();
    for (String s = plain.poll(); s != null; s = plain.poll()) plainOut.add(s);
    assertThat(plainOut).isNotEqualTo(List.of("3a", "3b", "3c", "3d", "3e"));
  }
}
