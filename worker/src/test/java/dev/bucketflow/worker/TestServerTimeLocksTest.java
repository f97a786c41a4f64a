package dev.bucketflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.testserver.TestServer;
import io.temporal.worker.WorkerFactory;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The test server's time-lock list: as shipped it keeps an entry per completed workflow task
 * forever; with {@link TestServerTimeLocks#stopLeak} it keeps none of those, and workflows still
 * run to completion.
 */
class TestServerTimeLocksTest {

  static final int WORKFLOWS = 100;

  @WorkflowInterface
  public interface Noop {
    @WorkflowMethod
    String run(int n);
  }

  public static class NoopImpl implements Noop {
    @Override
    public String run(int n) {
      return "done " + n;
    }
  }

  /**
   * Runs {@link #WORKFLOWS} one-task workflows to completion; returns what the list holds after.
   */
  static TestServerTimeLocks.Retained retainedAfterWorkflows(boolean fixed) throws Exception {
    int port = WorkerHarness.freePort();
    TestServer.PortBoundTestServer server = TestServer.createPortBoundServer(port, true);
    WorkflowServiceStubs service = Temporal.connect("127.0.0.1:" + port);
    try {
      if (fixed) assertThat(TestServerTimeLocks.stopLeak(server)).isTrue();
      WorkflowClient client = Temporal.client(service, "default");
      WorkerFactory factory = WorkerFactory.newInstance(client);
      factory.newWorker("noop").registerWorkflowImplementationTypes(NoopImpl.class);
      factory.start();
      try {
        for (int i = 0; i < WORKFLOWS; i++) {
          Noop stub =
              client.newWorkflowStub(
                  Noop.class,
                  WorkflowOptions.newBuilder()
                      .setTaskQueue("noop")
                      .setWorkflowId("noop-" + i)
                      .build());
          assertThat(stub.run(i)).isEqualTo("done " + i);
        }
      } finally {
        factory.shutdownNow();
        factory.awaitTermination(10, TimeUnit.SECONDS);
      }
      return TestServerTimeLocks.retained(server).orElseThrow();
    } finally {
      service.shutdownNow();
      server.close();
    }
  }

  @Test
  void asShippedTheListKeepsAnUnlockEntryPerWorkflowTask() throws Exception {
    // If this fails, the SDK fixed the leak and TestServerTimeLocks can go.
    TestServerTimeLocks.Retained r = retainedAfterWorkflows(false);
    assertThat(r.unlocks()).isGreaterThanOrEqualTo(WORKFLOWS);
    assertThat(r.entries()).isGreaterThanOrEqualTo(2 * WORKFLOWS);
  }

  @Test
  void fixedItKeepsNoUnlockEntriesAndWorkflowsStillComplete() throws Exception {
    TestServerTimeLocks.Retained r = retainedAfterWorkflows(true);
    assertThat(r.unlocks()).isZero();
    // What stays is the handle-less LOCK entry per workflow task, as before: at most half the list.
    assertThat(r.entries()).isBetween(0, WORKFLOWS + 5);
  }
}
