package dev.bucketflow.worker;

import dev.bucketflow.backfill.BackfillProgress;
import java.io.PrintWriter;

/** done / total, rate and ETA: a redrawn bar on a terminal, a line every few seconds otherwise. */
final class ProgressBar {

  private static final int WIDTH = 30;

  private final PrintWriter out;
  private final boolean terminal;
  private final long started = System.nanoTime();
  private long lastLine;

  ProgressBar(PrintWriter out, boolean terminal) {
    this.out = out;
    this.terminal = terminal;
  }

  void show(BackfillProgress p) {
    show(
        p.processed(),
        p.totals(),
        "contacts",
        String.format("joined %,d  left %,d", p.joined(), p.left()));
  }

  /**
   * {@code done} of {@code total} {@code unit}, then {@code tail}; redrawn at most every 2 s off a
   * terminal.
   */
  void show(long done, long totalHint, String unit, String tail) {
    long now = System.nanoTime();
    if (!terminal && now - lastLine < 2_000_000_000L) return;
    lastLine = now;
    double seconds = Math.max(0.001, (now - started) / 1e9);
    double rate = done / seconds;
    long total = Math.max(totalHint, done);
    String eta = rate > 0 && total > done ? String.format("%.0fs", (total - done) / rate) : "-";
    String line =
        String.format(
            "%s %,d/%,d %s  %,.0f/s  ETA %s  %s",
            terminal ? bar(done, total) : "", done, total, unit, rate, eta, tail);
    if (terminal) {
      out.print("\r" + line);
    } else {
      out.println(line.trim());
    }
    out.flush();
  }

  /** Ends a redrawn bar's line, so what follows starts on its own. */
  void end() {
    if (terminal) out.println();
    out.flush();
  }

  void finish(BackfillProgress p) {
    end();
    out.printf(
        "backfill %s: %,d contacts, %,d joined, %,d left%n",
        p.status(), p.processed(), p.joined(), p.left());
    out.flush();
  }

  private static String bar(long done, long total) {
    int filled = total == 0 ? WIDTH : (int) (WIDTH * done / total);
    return "[" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "]";
  }
}
