package dev.bucketflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * The configuration block a worker prints at start never shows a password, however it was given.
 */
class WorkerConfigTest {

  static WorkerConfig config(String... args) {
    WorkerCommand cmd = new WorkerCommand();
    new CommandLine(cmd).parseArgs(args);
    return WorkerConfig.of(
        cmd.temporal,
        cmd.queue,
        cmd.database,
        cmd.content,
        cmd.ingest,
        cmd.adminPort,
        cmd.sticky.timeout());
  }

  static Stream<List<String>> passwordForms() {
    return Stream.of(
        List.of("--db-url", "jdbc:postgresql://db.example:5432/bf?password=S3cret"),
        List.of("--db-url", "jdbc:postgresql://db.example:5432/bf?user=u&PassWord=S3cret&ssl=true"),
        List.of("--db-url", "jdbc:postgresql://db.example:5432/bf?ssl=true&sslpassword=S3cret"),
        List.of("--db-url", "jdbc:postgresql://db.example:5432/bf?password=S3cret%26more&x=1"),
        List.of("--db-url", "jdbc:postgresql://db.example:5432/bf?authToken=S3cret"),
        List.of("--db-url", "jdbc:postgresql://db.example:5432/bf?client_secret=S3cret"),
        List.of("--db-url", "postgres://u:S3cret@db.example:5432/bf"),
        List.of("--db-url", "postgresql://u:S3cret@db.example/bf?sslmode=require"),
        List.of("--db-url", "jdbc:postgresql://u:S3cret@db.example:5432/bf"),
        List.of("--db-url", "jdbc:postgresql://db.example:5432/bf", "--db-password", "S3cret"),
        // The same value given twice: once as the option, once hidden in an innocent-looking
        // parameter.
        List.of(
            "--db-url",
            "jdbc:postgresql://db.example:5432/bf?options=S3cret",
            "--db-password",
            "S3cret"));
  }

  @ParameterizedTest
  @MethodSource("passwordForms")
  void thePrintedConfigurationNeverContainsThePassword(List<String> args) {
    WorkerConfig config = config(args.toArray(String[]::new));
    String printed = Processes.configText(config);

    assertThat(printed).contains("database.url", "db.example").doesNotContain("S3cret");
    assertThat(config.toString()).doesNotContain("S3cret");
  }

  @Test
  void itSaysWhetherAPasswordIsSetWithoutShowingIt() {
    assertThat(Processes.configText(config("--db-url", "postgres://u:S3cret@db.example/bf")))
        .containsPattern("database\\.password\\s+\\*\\*\\*")
        .containsPattern("database\\.user\\s+u\\R");
    assertThat(Processes.configText(config("--db-url", "jdbc:postgresql://db.example/bf")))
        .containsPattern("database\\.password\\s+\\(none\\)");
  }

  @Test
  void theSweepsChunksAtOnceAreCappedByThePoolAndThePrintedValueSaysSo() {
    WorkerConfig plenty = config("--db-pool-size", "10", "--reconcile-parallelism", "3");
    assertThat(plenty.reconcileChunksAtOnce()).isEqualTo(3);
    assertThat(Processes.configText(plenty)).containsPattern("reconcile\\.parallelism\\s+3\\R");

    WorkerConfig small = config("--db-pool-size", "2", "--reconcile-parallelism", "3");
    assertThat(small.reconcileChunksAtOnce()).as("one connection left to ingest").isEqualTo(1);
    assertThat(Processes.configText(small))
        .contains("reconcile.parallelism", "1 (asked for 3, capped by database.pool-size 2)");

    assertThat(config().reconcileParallelism())
        .isEqualTo(dev.bucketflow.reconcile.ReconcileService.DEFAULT_PARALLELISM);
  }

  @Test
  void aParallelismOutOfRangeIsRefusedNamingTheFlag() {
    for (String bad : List.of("0", "65")) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> config("--reconcile-parallelism", bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("--reconcile-parallelism")
          .hasMessageContaining("got " + bad);
    }
  }
}
