package dev.bucketflow.worker;

import io.temporal.testserver.TestServer;
import java.lang.reflect.Field;

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

  /** The server's {@code TestServicesStarter}, which holds its store and its timer. */
  static Object services(TestServer.PortBoundTestServer server)
      throws ReflectiveOperationException {
    return read(server, "testServicesStarter");
  }

  /** The private field {@code name} of {@code target}, read. */
  static Object read(Object target, String name) throws ReflectiveOperationException {
    return field(target.getClass(), name).get(target);
  }

  /** The private field {@code name} declared by {@code type}, made accessible. */
  static Field field(Class<?> type, String name) throws NoSuchFieldException {
    Field f = type.getDeclaredField(name);
    f.setAccessible(true);
    return f;
  }
}
