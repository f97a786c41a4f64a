package dev.bucketflow.worker;

import dev.bucketflow.backfill.BackfillProgress;
import java.io.PrintWriter;

/** processed / total, rate and ETA: a redrawn bar on a terminal, a line every few seconds otherwise. */
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
    long now = System.nanoTime();
    if (!terminal && now - lastLine < 2_000_000_000L) return;
    lastLine = now;
    double seconds = Math.max(0.001, (now - started) / 1e9);
    double rate = p.processed() / seconds;
    long total = Math.max(p.totals(), p.processed());
    String eta = rate > 0 && total > p.processed() ? String.format("%.0fs", (total - p.processed()) / rate) : "-";
    String line = String.format("%s %,d/%,d contacts  %,.0f/s  ETA %s  joined %,d  left %,d",
        terminal ? bar(p.processed(), total) : "", p.processed(), total, rate, eta, p.joined(), p.left());
    if (terminal) {
      out.print("\r" + line);
    } else {
      out.println(line.trim());
    }
    out.flush();
  }

  void finish(BackfillProgress p) {
    if (terminal) out.println();
    out.printf("backfill %s: %,d contacts, %,d joined, %,d left%n", p.status(), p.processed(), p.joined(), p.left());
    out.flush();
  }

  private static String bar(long done, long total) {
    int filled = total == 0 ? WIDTH : (int) (WIDTH * done / total);
    return "[" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "]";
  }
}
