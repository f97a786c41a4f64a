package dev.bucketflow.posthog;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.bucketflow.db.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntFunction;

/**
 * A local stand-in for PostHog's capture API (the only thing mocked): records every request
 * (method, path, JSON body) and answers with a status chosen per request.
 */
final class RecordingPostHog implements AutoCloseable {

  record Request(int index, String method, String path, String contentType, JsonNode body) {

    String event() {
      return body.path("event").asText(null);
    }

    String distinctId() {
      return body.path("distinct_id").asText(null);
    }

    JsonNode set() {
      return body.path("properties").get("$set");
    }

    JsonNode unset() {
      return body.path("properties").get("$unset");
    }
  }

  /** Decides the answer to a request; may block (e.g. on a latch) to hold the client. */
  interface Responder {
    int respond(Request request) throws Exception;
  }

  private final HttpServer server;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final AtomicInteger answered = new AtomicInteger();
  private final AtomicInteger received = new AtomicInteger();
  private volatile Responder responder = r -> 200;

  RecordingPostHog() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(threads);
    server.start();
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  void answer(Responder responder) {
    this.responder = responder;
  }

  /** Answers each request by its 0-based arrival index. */
  void answerByIndex(ToIntFunction<Integer> status) {
    this.responder = r -> status.applyAsInt(r.index());
  }

  List<Request> requests() {
    return new ArrayList<>(requests);
  }

  int answered() {
    return answered.get();
  }

  /** Waits until at least {@code n} requests were answered. */
  boolean awaitAnswered(int n, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (answered.get() < n) {
      if (System.nanoTime() > deadline) return false;
      Thread.sleep(2);
    }
    return true;
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange;
        InputStream in = exchange.getRequestBody()) {
      String raw = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      JsonNode body;
      try {
        body = Json.MAPPER.readTree(raw);
      } catch (IOException e) {
        body = Json.MAPPER.getNodeFactory().textNode(raw);
      }
      Request request =
          new Request(
              received.getAndIncrement(),
              exchange.getRequestMethod(),
              exchange.getRequestURI().getPath(),
              exchange.getRequestHeaders().getFirst("Content-Type"),
              body);
      requests.add(request);
      int status;
      try {
        status = responder.respond(request);
      } catch (Exception e) {
        status = 599;
      }
      byte[] reply =
          (status / 100 == 2 ? "{\"status\":\"Ok\"}" : "{\"error\":\"test failure\"}")
              .getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(status, reply.length);
      exchange.getResponseBody().write(reply);
    } finally {
      answered.incrementAndGet();
    }
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }
}
