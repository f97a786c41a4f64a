package dev.bucketflow.worker;

import io.temporal.testserver.TestServer;

/**
 * The two fixes {@code dev}, {@code bench e2e} and the worker's tests apply to Temporal's Java test
 * server before using it: its time-lock list stops growing ({@link TestServerTimeLocks}) and its
 * task queues serve tasks of one priority in arrival order ({@link TestServerTaskQueues}). Each
 * logs and leaves the server as it is when the server's layout is not the expected one.
 */
final class TestServerFixes {

  private TestServerFixes() {}

  static void apply(TestServer.PortBoundTestServer server) {
    TestServerTimeLocks.stopLeak(server);
    TestServerTaskQueues.servedInArrivalOrder(server);
  }
}
