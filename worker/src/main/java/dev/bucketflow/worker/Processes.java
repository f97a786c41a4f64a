package dev.bucketflow.worker;

import dev.bucketflow.admin.AdminMetrics;
import dev.bucketflow.admin.AdminServer;
import dev.bucketflow.db.Secrets;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/** What a long-running command started, closed in reverse order on Ctrl-C. */
final class Processes {

  private final Deque<AutoCloseable> started = new ArrayDeque<>();
  private final CountDownLatch stopped = new CountDownLatch(1);

  <T extends AutoCloseable> T add(T closeable) {
    started.push(closeable);
    return closeable;
  }

  /** Blocks until the JVM is asked to stop, then closes everything cleanly. */
  void awaitShutdown() throws InterruptedException {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("Shutting down...");
                  closeAll();
                  stopped.countDown();
                },
                "bucketflow-shutdown"));
    stopped.await();
  }

  void closeAll() {
    while (!started.isEmpty()) {
      try {
        started.pop().close();
      } catch (Exception e) {
        System.err.println("while stopping: " + Secrets.redact(e.getMessage()));
      }
    }
  }

  /**
   * The admin server: /health, the API and dashboard over {@code worker}, and {@code metrics} at
   * /metrics.
   */
  static AdminServer admin(
      String host, int port, BucketflowWorker worker, WorkerConfig config, AdminMetrics metrics)
      throws IOException {
    metrics.bind(worker.dsl(), worker.client(), config.shards());
    return AdminServer.start(
        host,
        port,
        new AdminServer.HealthChecks(
            worker::databaseUp, worker::temporalUp, worker::running, config.taskQueue()),
        worker.adminContext(adminToken()),
        metrics);
  }

  /**
   * {@code BUCKETFLOW_ADMIN_TOKEN}: admin mutations need it as a bearer token; unset = mutations
   * refused (403).
   */
  static String adminToken() {
    String token = System.getenv("BUCKETFLOW_ADMIN_TOKEN");
    return token == null || token.isBlank() ? null : token.trim();
  }

  static void printConfig(WorkerConfig config) {
    System.out.print(configText(config));
  }

  /**
   * The start-up configuration block exactly as printed; credentials are masked (see {@link
   * WorkerConfig#describe}).
   */
  static String configText(WorkerConfig config) {
    StringBuilder out =
        new StringBuilder("Bucketflow configuration:").append(System.lineSeparator());
    for (Map.Entry<String, Object> e : config.describe().entrySet()) {
      out.append(String.format("  %-30s %s%n", e.getKey(), e.getValue()));
    }
    return out.toString();
  }
}
