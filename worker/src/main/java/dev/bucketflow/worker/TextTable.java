package dev.bucketflow.worker;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** A plain aligned text table for terminal output: numbers right-aligned, everything else left. */
final class TextTable {

  private final String[] headers;
  private final List<Object[]> rows = new ArrayList<>();
  private final Set<Integer> right = new HashSet<>();

  TextTable(String... headers) {
    this.headers = headers;
  }

  /** Right-aligns these columns whatever their cells hold (pre-formatted numbers). */
  TextTable alignRight(int... columns) {
    for (int c : columns) right.add(c);
    return this;
  }

  TextTable row(Object... cells) {
    if (cells.length != headers.length)
      throw new IllegalArgumentException("expected " + headers.length + " cells");
    rows.add(cells);
    return this;
  }

  void print(PrintWriter out) {
    int[] widths = new int[headers.length];
    boolean[] numeric = new boolean[headers.length];
    for (int i = 0; i < headers.length; i++) {
      widths[i] = headers[i].length();
      numeric[i] = !rows.isEmpty() || right.contains(i);
    }
    for (Object[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        widths[i] = Math.max(widths[i], String.valueOf(row[i]).length());
        if (!(row[i] instanceof Number) && !right.contains(i)) numeric[i] = false;
      }
    }
    line(out, headers, widths, numeric);
    for (Object[] row : rows) line(out, row, widths, numeric);
  }

  private static void line(PrintWriter out, Object[] cells, int[] widths, boolean[] numeric) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < cells.length; i++) {
      String text = String.valueOf(cells[i]);
      if (i > 0) sb.append("  ");
      String pad = " ".repeat(widths[i] - text.length());
      if (numeric[i]) sb.append(pad).append(text);
      else sb.append(text).append(i == cells.length - 1 ? "" : pad);
    }
    out.println(sb);
  }
}
