package dev.bucketflow.worker;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bucketflow.admin.AdminContext;
import dev.bucketflow.admin.AdminMetrics;
import dev.bucketflow.admin.AdminServer;
import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.IngestClient;
import dev.bucketflow.ingest.IngestSettings;
import dev.bucketflow.testing.TestDatabase;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.testserver.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.jooq.DSLContext;

/**
 * As {@link WorkerHarness} — port-bound Temporal test server in real time, a fresh database, the
 * worker as {@code bucketflow worker} wires it — plus what {@code Processes.admin} adds: the
 * metered ingest seam, the SDK's metrics scope and two admin servers on free ports over the same
 * worker, one with {@link #TOKEN} configured and one with none.
 */
final class AdminHarness implements AutoCloseable {

  static final String TOKEN = "test-admin-token-0123456789";

  final TestDatabase db;
  final TestServer.PortBoundTestServer server;
  final WorkflowServiceStubs service;
  final AdminMetrics metrics = new AdminMetrics();
  final BucketflowWorker worker;
  final WorkerConfig config;
  final AdminServer admin;
  final AdminServer adminWithoutToken;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  AdminHarness(Path buckets, Path journeys) throws Exception {
    db = TestDatabase.fresh();
    int port = WorkerHarness.freePort();
    server = TestServer.createPortBoundServer(port, true);
    TestServerFixes.apply(server); // as dev runs it
    String address = "127.0.0.1:" + port;
    service = Temporal.connect(address, metrics.temporalScope());
    // Pool 16, not WorkerHarness's 4: EnabledSwitch refreshes through the pool while an ingest
    // transaction holds its connection, so with every connection in a transaction a refresh
    // stalls for Hikari's 30 s timeout (a known issue reported with this change).
    config =
        new WorkerConfig(
            address,
            "default",
            "bucketflow-admin-test",
            8,
            db.url(),
            "postgres",
            "",
            16,
            buckets,
            journeys,
            "*",
            0,
            new IngestSettings(200, 500),
            Duration.ofSeconds(1),
            "0 0 1 1 *",
            100,
            dev.bucketflow.ingest.EventParser.DEFAULT_MAX_FUTURE_SKEW);
    worker = BucketflowWorker.start(config, service, metrics::meter, metrics.ingestLatencies());
    metrics.bind(worker.dsl(), worker.client(), config.shards());
    AdminServer.HealthChecks checks =
        new AdminServer.HealthChecks(
            worker::databaseUp, worker::temporalUp, worker::running, config.taskQueue());
    admin = AdminServer.start("127.0.0.1", 0, checks, worker.adminContext(TOKEN), metrics);
    adminWithoutToken = AdminServer.start("127.0.0.1", 0, checks, worker.adminContext(null), null);
  }

  AdminContext context() {
    return worker.adminContext(TOKEN);
  }

  IngestClient ingest() {
    return new IngestClient(worker.client(), config.taskQueue(), config.shards());
  }

  DSLContext dsl() {
    return db.dsl();
  }

  String base() {
    return "http://127.0.0.1:" + admin.port();
  }

  /** A response: status, raw body and (when it is JSON) the parsed body. */
  record Reply(int status, String contentType, String text) {
    JsonNode json() {
      try {
        return Json.MAPPER.readTree(text);
      } catch (Exception e) {
        throw new AssertionError("not JSON (HTTP " + status + "): " + text, e);
      }
    }
  }

  Reply get(String pathAndQuery) throws Exception {
    return send(HttpRequest.newBuilder(URI.create(base() + pathAndQuery)).GET());
  }

  Reply send(HttpRequest.Builder request) throws Exception {
    HttpResponse<String> r =
        http.send(
            request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body());
  }

  Reply json(String method, String url, String body, String token) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(body));
    if (token != null) b.header("Authorization", "Bearer " + token);
    return send(b);
  }

  @Override
  public void close() {
    admin.close();
    adminWithoutToken.close();
    worker.close();
    service.shutdownNow();
    server.close();
    db.close();
  }
}
