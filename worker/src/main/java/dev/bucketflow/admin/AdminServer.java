package dev.bucketflow.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;
import io.javalin.json.JavalinJackson;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP server (Javalin on Jetty): {@code GET /health}, the {@code /api} routes ({@link
 * AdminApi}), {@code GET /metrics} ({@link AdminMetrics}) and the dashboard at {@code /} (static
 * files from the jar's {@code admin-ui/}, charts from the ECharts WebJar under {@code /webjars/}).
 * Any error becomes JSON {@code {"error", "message"}}: 4xx for bad input, 500 (logged with its
 * stack trace here, never sent) for a bug.
 */
public final class AdminServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

  /** What /health reports; each check must answer within a couple of seconds. */
  public record HealthChecks(
      BooleanSupplier postgres,
      BooleanSupplier temporal,
      BooleanSupplier worker,
      String taskQueue) {}

  private final Javalin app;

  private AdminServer(Javalin app) {
    this.app = app;
  }

  /** Only {@code /health} (and the error handling): a server without a worker behind it. */
  public static AdminServer start(String host, int port, HealthChecks checks) throws IOException {
    return start(host, port, checks, null, null);
  }

  /**
   * @param api the worker the API reads and drives; null serves {@code /health} only
   * @param metrics null serves no {@code /metrics}
   */
  public static AdminServer start(
      String host, int port, HealthChecks checks, AdminContext api, AdminMetrics metrics)
      throws IOException {
    Javalin app =
        Javalin.create(
            cfg -> {
              cfg.showJavalinBanner = false;
              cfg.startupWatcherEnabled = false;
              cfg.jsonMapper(new JavalinJackson(AdminJson.MAPPER, false));
              // 2-core friendly; reads are short queries.
              cfg.jetty.threadPool = new QueuedThreadPool(16, 2, 60_000);
              cfg.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrorHandler()));
              // User ids are arbitrary text: let %00, %2F and friends reach the routes, which
              // decode the
              // path parameter and answer a precise 4xx (Jetty's default refuses them with a bare
              // 400).
              cfg.jetty.modifyHttpConfiguration(
                  http -> http.setUriCompliance(org.eclipse.jetty.http.UriCompliance.UNSAFE));
              cfg.staticFiles.add(
                  files -> {
                    files.hostedPath = "/static";
                    files.directory = "/admin-ui";
                    files.location = Location.CLASSPATH;
                  });
              cfg.staticFiles.enableWebjars();
            });
    app.get("/health", ctx -> health(ctx, checks));
    if (api != null) {
      new AdminApi(api).register(app);
      app.get("/", AdminServer::dashboard);
    }
    if (metrics != null) {
      app.get(
          "/metrics",
          ctx ->
              ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape()));
      app.get("/api/latency", ctx -> ctx.json(metrics.latencySummary()));
    }
    app.exception(ApiError.class, (e, ctx) -> error(ctx, e.status, e.code, e.getMessage()));
    app.exception(
        Previewer.InvalidDefinition.class,
        (e, ctx) -> {
          ObjectNode body =
              errorBody("invalid_definition", e.problems.size() + " problem(s) in the definition");
          var problems = body.putArray("problems");
          e.problems.forEach(
              p -> problems.addObject().put("path", p.path()).put("message", p.message()));
          ctx.status(422).contentType("application/json").result(body.toString());
        });
    app.exception(
        Exception.class,
        (e, ctx) -> {
          log.error("admin request {} {} failed", ctx.method(), ctx.path(), e);
          error(
              ctx,
              500,
              "internal_error",
              "the request failed inside the worker; the worker log has the details");
        });
    app.error(
        404,
        ctx -> {
          // An ApiError 404 (unknown bucket, ...) is already JSON; Javalin's own "Endpoint ... not
          // found" is not.
          String type = ctx.res().getContentType();
          if (type == null || !type.startsWith("application/json")) {
            error(
                ctx,
                404,
                "not_found",
                "no such path: "
                    + ApiError.quote(ctx.path())
                    + " (README, Admin API, lists the paths)");
          }
        });
    app.error(
        405,
        ctx ->
            error(
                ctx,
                405,
                "method_not_allowed",
                ctx.method() + " is not allowed on " + ApiError.quote(ctx.path())));
    try {
      app.start(host, port);
    } catch (RuntimeException e) {
      throw new IOException(
          "cannot start the admin server on " + host + ":" + port + ": " + e.getMessage(), e);
    }
    return new AdminServer(app);
  }

  public int port() {
    return app.port();
  }

  private static void health(Context ctx, HealthChecks checks) {
    boolean pg = checks.postgres().getAsBoolean();
    boolean temporal = checks.temporal().getAsBoolean();
    boolean worker = checks.worker().getAsBoolean();
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("status", pg && temporal && worker ? "ok" : "degraded");
    body.putObject("postgres").put("ok", pg);
    body.putObject("temporal").put("ok", temporal);
    body.putObject("worker").put("ok", worker).put("taskQueue", checks.taskQueue());
    ctx.status(pg && temporal && worker ? 200 : 503)
        .contentType("application/json")
        .result(body.toString());
  }

  private static void dashboard(Context ctx) throws IOException {
    try (InputStream in = AdminServer.class.getResourceAsStream("/admin-ui/index.html")) {
      if (in == null) throw new IOException("admin-ui/index.html is missing from the jar");
      ctx.contentType("text/html; charset=utf-8").result(in.readAllBytes());
    }
  }

  static ObjectNode errorBody(String code, String message) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("error", code);
    body.put("message", message);
    return body;
  }

  private static void error(Context ctx, int status, String code, String message) {
    ctx.status(status).contentType("application/json").result(errorBody(code, message).toString());
  }

  @Override
  public void close() {
    app.stop();
  }
}
