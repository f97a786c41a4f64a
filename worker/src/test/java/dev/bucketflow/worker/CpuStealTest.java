package dev.bucketflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class CpuStealTest {

  @Test
  void readsTheAggregateLineOfProcStat() {
    // user nice system idle iowait irq softirq steal guest guest_nice
    Optional<CpuSteal> c = CpuSteal.parse("cpu  680872 369 79370 8358103 6164 0 12879 145693 0 0");
    assertThat(c)
        .contains(
            new CpuSteal(680872L + 369 + 79370 + 8358103 + 6164 + 0 + 12879 + 145693, 145693));
  }

  @Test
  void refusesWhatIsNotTheAggregateLine() {
    assertThat(CpuSteal.parse("cpu0 1 2 3 4 5 6 7 8")).isEmpty();
    assertThat(CpuSteal.parse("cpu 1 2 3")).isEmpty();
    assertThat(CpuSteal.parse("cpu 1 2 3 4 5 6 7 x")).isEmpty();
  }

  @Test
  void describesTheShareStolenBetweenTwoReadings() {
    Optional<CpuSteal> start = Optional.of(new CpuSteal(1_000, 100));
    Optional<CpuSteal> end = Optional.of(new CpuSteal(3_000, 600));
    assertThat(CpuSteal.describe(start, end)).startsWith("cpu steal 25 % (");
    assertThat(CpuSteal.describe(Optional.empty(), end)).isEqualTo("cpu steal unknown");
    assertThat(CpuSteal.describe(start, start)).isEqualTo("cpu steal unknown");
  }

  @Test
  void readsThisMachineWhereItIsLinux() {
    assumeTrue(System.getProperty("os.name").startsWith("Linux"), "no /proc/stat off Linux");
    assertThat(CpuSteal.now())
        .hasValueSatisfying(c -> assertThat(c.totalTicks()).isGreaterThan(c.stealTicks()));
  }
}
