package dev.bucketflow.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.bucketflow.db.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The admin HTTP API (JDK HTTP server, no framework): {@code GET /health}. */
public final class AdminServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

  /** What /health reports; each check must answer within a couple of seconds. */
  public record HealthChecks(BooleanSupplier postgres, BooleanSupplier temporal, BooleanSupplier worker, String taskQueue) {}

  private final HttpServer server;

  private AdminServer(HttpServer server) {
    this.server = server;
  }

  public static AdminServer start(String host, int port, HealthChecks checks) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
    server.setExecutor(Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "admin-http");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/health", ex -> health(ex, checks));
    server.start();
    return new AdminServer(server);
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void health(HttpExchange ex, HealthChecks checks) throws IOException {
    boolean pg = checks.postgres().getAsBoolean();
    boolean temporal = checks.temporal().getAsBoolean();
    boolean worker = checks.worker().getAsBoolean();
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("status", pg && temporal && worker ? "ok" : "degraded");
    body.putObject("postgres").put("ok", pg);
    body.putObject("temporal").put("ok", temporal);
    body.putObject("worker").put("ok", worker).put("taskQueue", checks.taskQueue());
    send(ex, pg && temporal && worker ? 200 : 503, body.toString());
  }

  static void send(HttpExchange ex, int status, String json) throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    } catch (IOException e) {
      log.debug("admin client went away", e);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
