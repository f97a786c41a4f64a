package dev.bucketflow.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The machine's CPU time taken by the hypervisor during a bench run (the {@code steal} column of
 * Linux's {@code /proc/stat}). On a shared VM it is why two runs of the same code differ by half:
 * the benches print it beside their ratios, so a reader can tell a slow machine from slow code.
 */
record CpuSteal(long totalTicks, long stealTicks) {

  private static final Path PROC_STAT = Path.of("/proc/stat");

  /** The counters now, or empty where there is no {@code /proc/stat} (not Linux). */
  static Optional<CpuSteal> now() {
    try {
      return Files.readAllLines(PROC_STAT).stream().findFirst().flatMap(CpuSteal::parse);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * The aggregate line {@code cpu user nice system idle iowait irq softirq steal [guest ...]};
   * guest time is already inside user and nice, so the total is the first eight fields.
   */
  static Optional<CpuSteal> parse(String line) {
    String[] f = line.trim().split("\\s+");
    if (f.length < 9 || !f[0].equals("cpu")) return Optional.empty();
    long total = 0;
    try {
      for (int i = 1; i <= 8; i++) total += Long.parseLong(f[i]);
      return Optional.of(new CpuSteal(total, Long.parseLong(f[8])));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** {@code "cpu steal 23 % (…)"} from {@code start} to now, or {@code "cpu steal unknown"}. */
  static String since(Optional<CpuSteal> start) {
    return describe(start, now());
  }

  static String describe(Optional<CpuSteal> start, Optional<CpuSteal> end) {
    if (start.isEmpty() || end.isEmpty()) return "cpu steal unknown";
    long total = end.get().totalTicks() - start.get().totalTicks();
    long steal = end.get().stealTicks() - start.get().stealTicks();
    if (total <= 0) return "cpu steal unknown";
    return String.format(
        Locale.ROOT,
        "cpu steal %.0f %% (time the hypervisor gave to others)",
        100.0 * steal / total);
  }
}
