package dev.bucketflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * {@code bucketflow bench e2e}, tiny: all three phases run on their own embedded PostgreSQL and
 * test server (free ports), and the output ends with the two script lines, their numbers parsing
 * and positive. No threshold is asserted: timings on a shared machine are not a test.
 */
// Alone (after the concurrent ITs): a benchmark's rates mean nothing on a shared machine.
@Isolated
class BenchE2eIT {

  @Test
  void tinyRunReportsEveryPhaseAndEndsWithTheTwoScriptLines() {
    BucketsCommandTest.Run r =
        BucketsCommandTest.run(
            "bench",
            "e2e",
            "--events",
            "600",
            "--users",
            "200",
            "--latency-seconds",
            "2",
            "--warmup-events",
            "100",
            "--buckets",
            "../examples/buckets",
            "--journeys",
            "../examples/journeys");

    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    assertThat(r.out())
        .containsPattern(
            "\\(s\\) Temporal-only ceiling: 600 events in [0-9.]+ s = [0-9,]+ events/s")
        .containsPattern("\\(e\\) full path: 600 events in [0-9.]+ s = [0-9,]+ events/s")
        // (l) starts only once (e)'s transitions and journey events are delivered
        .containsPattern("after \\(e\\): outboxes delivered in [0-9.]+ s more")
        .containsPattern("\\(l\\) event->transition: p50 [0-9.]+ s, p90 [0-9.]+ s, p99 [0-9.]+ s");
    List<String> lines = r.out().lines().toList();
    assertThat(lines).hasSizeGreaterThan(2);
    Matcher ratio =
        Pattern.compile("e2e/ceiling ratio: (\\d+\\.\\d\\d)").matcher(lines.get(lines.size() - 2));
    Matcher p99 =
        Pattern.compile("p99 event->transition at half load: (\\d+\\.\\d+) s")
            .matcher(lines.get(lines.size() - 1));
    assertThat(ratio.matches()).as(lines.get(lines.size() - 2)).isTrue();
    assertThat(p99.matches()).as(lines.get(lines.size() - 1)).isTrue();
    assertThat(Double.parseDouble(ratio.group(1))).isPositive();
    assertThat(Double.parseDouble(p99.group(1))).isPositive();
  }
}
