package dev.bucketflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.reconcile.ReconcileBench;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code bench reconcile}, tiny: a behaviour check, not timing. The baseline runs on every member
 * (sample ≥ members), so the set the per-member evaluator made leave must be exactly the set the
 * set-based sweep made leave, in each bucket; and the output ends with the ratio line.
 */
// One of the module's longest classes: started first (the parent pom orders classes by @Order),
// so the classes running in parallel end together instead of this one running on alone.
@Order(2)
class BenchReconcileCommandTest {

  @Test
  void theSweepLeavesExactlyTheMembersThePerMemberEvaluatorLeavesAndTheOutputEndsWithTheRatio()
      throws Exception {
    BenchReconcileCommand command = new BenchReconcileCommand();
    new CommandLine(command)
        .parseArgs(
            "--members",
            "500",
            "--events",
            "5000",
            "--sample",
            "500",
            "--warmup",
            "20",
            "--chunk",
            "64",
            "--explain");
    StringWriter text = new StringWriter();

    BenchReconcileCommand.Report report = command.run(new PrintWriter(text, true));

    String out = text.toString();
    assertThat(report.agreed()).as(out).isTrue();
    assertThat(report.sweeps()).hasSize(ReconcileBench.BUCKETS.size());
    for (int i = 0; i < report.sweeps().size(); i++) {
      ReconcileBench.Baseline baseline = report.baselines().get(i);
      ReconcileBench.Sweep sweep = report.sweeps().get(i);
      assertThat(baseline.sampled()).as(baseline.bucketId()).hasSize(500);
      assertThat(sweep.members()).isEqualTo(500);
      // Equal as sets, and the data really made about a quarter due (25 % drawn by hash).
      assertThat(sweep.left()).as(sweep.bucketId()).isEqualTo(baseline.leaves());
      assertThat(sweep.left().size()).as(sweep.bucketId()).isBetween(75, 175);
      assertThat(sweep.counts().clockLeaves()).isEqualTo(sweep.left().size());
    }
    List<String> lines = out.lines().toList();
    assertThat(lines.get(lines.size() - 1)).matches("set-based vs per-member: [0-9]+\\.[0-9]x");
    assertThat(out)
        .containsPattern(
            "check bench-count: on the 500 sampled members the sweep left exactly the [0-9]+ ")
        .containsPattern(
            "check bench-composite: on the 500 sampled members the sweep left exactly the [0-9]+ ")
        .contains("per-member: run on every member")
        // --explain: the plan of the real leave statement, from the savepoint run.
        .containsPattern("-- update \"public\"\\.\"bucket_memberships\" set \"status\" = 'left'")
        .contains("Buffers:");
  }

  @Test
  void explainedStatementsShowTheirChunkListsAbbreviatedWhateverTheirLength() {
    StringBuilder ids = new StringBuilder();
    StringBuilder users = new StringBuilder();
    for (int i = 1; i <= 5000; i++) {
      ids.append(i == 1 ? "" : ", ").append(i);
      users.append(i == 1 ? "" : ", ").append("'bench-").append(i).append("''s'");
    }
    String sql =
        "update t set a = 1 where id in (" + ids + ") and u in (" + users + ") and f(1, 2)";

    assertThat(BenchReconcileCommand.LeaveExplainer.abbreviate(sql))
        .isEqualTo(
            "update t set a = 1 where id in (1, 2, ... 4998 more) and u in ('bench-1''s', 'bench-2''s', ... 4998 more)"
                + " and f(1, 2)");
    assertThat(
            BenchReconcileCommand.LeaveExplainer.abbreviate(
                "Index Cond: (id = ANY ('{"
                    + ids.toString().replace(" ", "")
                    + "}'::bigint[])) and x = '{\"a\": {\"b\": 1}}'"))
        .isEqualTo(
            "Index Cond: (id = ANY ('{1,2,... 4998 more}'::bigint[])) and x = '{\"a\": {\"b\": 1}}'");
  }

  @Test
  void aSampledRunSaysItExtrapolates() {
    BucketsCommandTest.Run r =
        BucketsCommandTest.run(
            "bench",
            "reconcile",
            "--members",
            "300",
            "--events",
            "2400",
            "--sample",
            "50",
            "--warmup",
            "5");

    assertThat(r.exit()).as(r.out() + r.err()).isZero();
    assertThat(r.out())
        .contains("EXTRAPOLATED to 300")
        .containsPattern("per-member s \\(extrapolated\\)");
    List<String> lines = r.lines();
    assertThat(lines.get(lines.size() - 1)).matches("set-based vs per-member: [0-9]+\\.[0-9]x");
  }
}
