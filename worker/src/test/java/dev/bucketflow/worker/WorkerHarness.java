package dev.bucketflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.ingest.IngestActivities;
import dev.bucketflow.ingest.IngestClient;
import dev.bucketflow.ingest.IngestSettings;
import dev.bucketflow.testing.TestDatabase;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.testserver.TestServer;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.jooq.DSLContext;

/**
 * The real thing, in-process: Temporal's port-bound test server in real time, a fresh database on
 * the shared embedded PostgreSQL, and the worker as {@code bucketflow worker} wires it.
 */
final class WorkerHarness implements AutoCloseable {

  final TestDatabase db;
  final TestServer.PortBoundTestServer server;
  final WorkflowServiceStubs service;
  private final int shards;
  BucketflowWorker worker;
  WorkerConfig config;

  WorkerHarness(Path buckets, Path journeys) {
    this(buckets, journeys, UnaryOperator.identity());
  }

  /**
   * @param ingestSeam wraps the first worker's ingest activities (see {@link
   *     BucketflowWorker#start})
   */
  WorkerHarness(Path buckets, Path journeys, UnaryOperator<IngestActivities> ingestSeam) {
    this(buckets, journeys, 8, ingestSeam);
  }

  /**
   * @param shards ingest shards (clients and every worker of the harness agree on it)
   */
  WorkerHarness(
      Path buckets, Path journeys, int shards, UnaryOperator<IngestActivities> ingestSeam) {
    this.shards = shards;
    db = TestDatabase.fresh();
    int port = freePort();
    server = TestServer.createPortBoundServer(port, true);
    TestServerFixes.apply(server); // as dev runs it
    String address = "127.0.0.1:" + port;
    service = Temporal.connect(address);
    config = config(address, buckets, journeys);
    worker = BucketflowWorker.start(config, service, ingestSeam);
  }

  /** Another worker on the same task queue, Temporal and database (the caller closes it). */
  BucketflowWorker startAnotherWorker(UnaryOperator<IngestActivities> ingestSeam) {
    return BucketflowWorker.start(config, service, ingestSeam);
  }

  private WorkerConfig config(String address, Path buckets, Path journeys) {
    return new WorkerConfig(
        address,
        "default",
        "bucketflow-test",
        shards,
        db.url(),
        "postgres",
        "",
        4,
        buckets,
        journeys,
        "*",
        0,
        new IngestSettings(200, 500),
        java.time.Duration.ofSeconds(1),
        "0 0 1 1 *",
        100,
        dev.bucketflow.ingest.EventParser.DEFAULT_MAX_FUTURE_SKEW);
  }

  /**
   * Stops the worker and boots a new one with other definitions, on the same database and Temporal.
   */
  void restartWith(Path buckets, Path journeys) {
    worker.close();
    config = config(config.temporalAddress(), buckets, journeys);
    worker = BucketflowWorker.start(config, service);
  }

  IngestClient ingestClient() {
    return new IngestClient(worker.client(), config.taskQueue(), config.shards());
  }

  DSLContext dsl() {
    return db.dsl();
  }

  /**
   * Polls until the condition holds (the system under test works asynchronously), or fails after
   * {@code timeout}.
   */
  static void await(BooleanSupplier condition, Duration timeout, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
      Thread.sleep(50);
    }
  }

  /**
   * {@code java … -jar target/bucketflow.jar <args>}: the shaded jar as a user runs it, in a JVM of
   * its own. C1 and the serial collector: a short-lived worker starts sooner and leaves the cores
   * to the test (README, "Layout").
   */
  static List<String> jarCommand(String... args) {
    File jar = new File("target/bucketflow.jar");
    assertThat(jar).as("the shaded jar built by the package phase").exists();
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(
        List.of("-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", jar.getPath()));
    command.addAll(List.of(args));
    return command;
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    worker.close();
    service.shutdownNow();
    server.close();
    db.close();
  }
}
