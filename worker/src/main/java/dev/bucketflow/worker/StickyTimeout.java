package dev.bucketflow.worker;

import io.temporal.api.workflowservice.v1.GetSystemInfoRequest;
import io.temporal.api.workflowservice.v1.GetSystemInfoResponse;
import io.temporal.serviceclient.WorkflowServiceStubs;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;

/**
 * {@code --sticky-timeout} / {@code BUCKETFLOW_STICKY_TIMEOUT}: how long the server keeps a
 * workflow task on the sticky queue of the worker that has the workflow cached before giving it to
 * any worker. {@code 0} turns sticky execution off; {@code auto} (the default) is off on Temporal's
 * Java test server and the SDK default (5 s) elsewhere.
 *
 * <p>What {@code Duration.ZERO} means, read in SDK 1.38.0: {@code ReplayWorkflowTaskHandler}
 * attaches {@code StickyExecutionAttributes} to a completed workflow task only when the timeout is
 * not zero, so with zero the server is never asked to route the next task to this worker's sticky
 * queue: every workflow task goes to the normal task queue, any worker may take it, and the
 * receiving worker replays the full history (its cache drops the entry on a full-history task). The
 * worker still polls its (always empty) sticky queue. The Java test server keeps a workflow on a
 * sticky queue only when the completion carried those attributes ({@code
 * TestWorkflowMutableStateImpl}), and never times a sticky task out, hence off there.
 *
 * <p>Detecting the Java test server: its {@code GetSystemInfo} returns no server version and a
 * fixed capability set without schedules, while every real server (and the Temporal CLI dev server)
 * names its version. A heuristic, not a contract; say {@code 0} explicitly when unsure.
 */
public final class StickyTimeout {

  private static final Logger log = LoggerFactory.getLogger(StickyTimeout.class);

  /** The SDK's default ({@code WorkerOptions.DEFAULT_STICKY_SCHEDULE_TO_START_TIMEOUT}). */
  static final Duration SDK_DEFAULT = Duration.ofSeconds(5);

  /**
   * The mixin: {@code worker} has it; {@code dev}'s own worker keeps sticky on (it dies with its
   * server).
   */
  public static final class Options {
    @Option(
        names = "--sticky-timeout",
        defaultValue = "${env:BUCKETFLOW_STICKY_TIMEOUT:-auto}",
        description =
            "Sticky schedule-to-start timeout in seconds; 0 turns sticky execution off (set 0 for "
                + "workers attached to `dev`); auto = 0 on the Java test server, else 5 "
                + "(env BUCKETFLOW_STICKY_TIMEOUT, default ${DEFAULT-VALUE}).")
    String stickyTimeout;

    /** Null for auto. */
    Duration timeout() {
      return parse(stickyTimeout);
    }
  }

  private StickyTimeout() {}

  /**
   * Seconds ({@code 0}, {@code 5}, {@code 2.5}) or ISO-8601 ({@code PT5S}); {@code auto} or blank
   * gives null.
   */
  static Duration parse(String text) {
    String t = text == null ? "" : text.trim();
    if (t.isEmpty() || t.equalsIgnoreCase("auto")) return null;
    Duration d;
    try {
      d =
          t.matches("\\d+")
              ? Duration.ofSeconds(Long.parseLong(t))
              : t.matches("\\d*\\.\\d+")
                  ? Duration.ofMillis(Math.round(Double.parseDouble(t) * 1000))
                  : Duration.parse(t);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "BUCKETFLOW_STICKY_TIMEOUT: '"
              + text
              + "' is not a number of seconds, an ISO-8601 duration or 'auto'");
    }
    if (d.isNegative())
      throw new IllegalArgumentException("BUCKETFLOW_STICKY_TIMEOUT: must not be negative");
    return d;
  }

  static String describe(Duration timeout) {
    if (timeout == null)
      return "auto (0s on the Java test server, else " + SDK_DEFAULT.toSeconds() + "s)";
    return timeout.isZero() ? "0s (sticky execution off)" : timeout.toMillis() / 1000.0 + "s";
  }

  /** The configured value, or for auto what the server calls for. */
  static Duration resolve(Duration configured, WorkflowServiceStubs service) {
    if (configured != null) return configured;
    boolean testServer = isJavaTestServer(service);
    Duration chosen = testServer ? Duration.ZERO : SDK_DEFAULT;
    log.info(
        "sticky-timeout auto: {} -> {}",
        testServer ? "Temporal's Java test server" : "a Temporal server",
        describe(chosen));
    return chosen;
  }

  static boolean isJavaTestServer(WorkflowServiceStubs service) {
    try {
      GetSystemInfoResponse info =
          service
              .blockingStub()
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .getSystemInfo(GetSystemInfoRequest.getDefaultInstance());
      return looksLikeJavaTestServer(info);
    } catch (RuntimeException e) {
      log.warn(
          "sticky-timeout auto: GetSystemInfo failed ({}); keeping the SDK default", e.toString());
      return false;
    }
  }

  static boolean looksLikeJavaTestServer(GetSystemInfoResponse info) {
    return info.getServerVersion().isEmpty() && !info.getCapabilities().getSupportsSchedules();
  }
}
