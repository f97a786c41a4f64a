package dev.bucketflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.temporal.api.workflowservice.v1.GetSystemInfoResponse;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code --sticky-timeout} / {@code BUCKETFLOW_STICKY_TIMEOUT} reach the printed configuration and
 * WorkerOptions.
 */
class StickyTimeoutTest {

  @Test
  void zeroFromTheFlagTurnsStickyExecutionOffInTheWorkerOptions() {
    WorkerConfig config = WorkerConfigTest.config("--sticky-timeout", "0");

    assertThat(config.stickyTimeout()).isZero();
    assertThat(
            BucketflowWorker.workerOptions(config, config.stickyTimeout())
                .getStickyQueueScheduleToStartTimeout())
        .isZero();
    assertThat(Processes.configText(config))
        .containsPattern("sticky-timeout\\s+0s \\(sticky execution off\\)\\R");
  }

  @Test
  void otherValuesAndAuto() {
    WorkerConfig twelve = WorkerConfigTest.config("--sticky-timeout", "12");
    assertThat(twelve.stickyTimeout()).isEqualTo(Duration.ofSeconds(12));
    assertThat(
            BucketflowWorker.workerOptions(twelve, twelve.stickyTimeout())
                .getStickyQueueScheduleToStartTimeout())
        .isEqualTo(Duration.ofSeconds(12));
    assertThat(Processes.configText(twelve)).containsPattern("sticky-timeout\\s+12\\.0s\\R");
    assertThat(WorkerConfigTest.config("--sticky-timeout", "PT2.5S").stickyTimeout())
        .isEqualTo(Duration.ofMillis(2500));
    assertThat(WorkerConfigTest.config("--sticky-timeout", "1.5").stickyTimeout())
        .isEqualTo(Duration.ofMillis(1500));

    WorkerConfig auto = WorkerConfigTest.config();
    assertThat(auto.stickyTimeout()).isNull();
    assertThat(Processes.configText(auto))
        .containsPattern("sticky-timeout\\s+auto \\(0s on the Java test server");
  }

  @Test
  void nonsenseIsRefusedWithTheVariableNamed() {
    assertThatThrownBy(() -> WorkerConfigTest.config("--sticky-timeout", "-1"))
        .hasMessageContaining("BUCKETFLOW_STICKY_TIMEOUT");
    assertThatThrownBy(() -> WorkerConfigTest.config("--sticky-timeout", "soon"))
        .hasMessageContaining("BUCKETFLOW_STICKY_TIMEOUT");
  }

  @Test
  void theJavaTestServerIsToldFromARealServerByGetSystemInfo() {
    // The Java test server's answer (TestWorkflowService.getSystemInfo): no version, no schedules.
    GetSystemInfoResponse testServer =
        GetSystemInfoResponse.newBuilder()
            .setCapabilities(
                GetSystemInfoResponse.Capabilities.newBuilder()
                    .setSdkMetadata(true)
                    .setUpsertMemo(true))
            .build();
    GetSystemInfoResponse real =
        GetSystemInfoResponse.newBuilder()
            .setServerVersion("1.27.2")
            .setCapabilities(
                GetSystemInfoResponse.Capabilities.newBuilder().setSupportsSchedules(true))
            .build();
    assertThat(StickyTimeout.looksLikeJavaTestServer(testServer)).isTrue();
    assertThat(StickyTimeout.looksLikeJavaTestServer(real)).isFalse();
    assertThat(StickyTimeout.resolve(Duration.ofSeconds(7), null)).isEqualTo(Duration.ofSeconds(7));
  }

  /** Prints the configuration {@code bucketflow worker} would print, from the environment only. */
  public static final class PrintConfig {
    public static void main(String[] args) {
      System.out.print(Processes.configText(WorkerConfigTest.config()));
    }
  }

  @Test
  void theEnvironmentVariableReachesThePrintedConfiguration() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    ProcessBuilder pb =
        new ProcessBuilder(
                List.of(
                    java.toString(),
                    "-cp",
                    System.getProperty("java.class.path"),
                    PrintConfig.class.getName()))
            .redirectErrorStream(true);
    pb.environment().put("BUCKETFLOW_STICKY_TIMEOUT", "0");
    Process p = pb.start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream in = p.getInputStream()) {
      in.transferTo(out);
    }
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(printed).isZero();
    assertThat(printed).containsPattern("sticky-timeout\\s+0s \\(sticky execution off\\)\\R");
  }
}
