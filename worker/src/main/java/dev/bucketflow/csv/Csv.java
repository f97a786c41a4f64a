package dev.bucketflow.csv;

/** RFC 4180 field quoting for what the exporter writes. */
public final class Csv {

  /**
   * {@code value} as a CSV field: quoted (quotes doubled) only when it holds a comma, quote, CR or
   * LF.
   */
  public static String field(String value) {
    if (value == null) return "";
    boolean plain = true;
    for (int i = 0; i < value.length() && plain; i++) {
      char c = value.charAt(i);
      plain = c != ',' && c != '"' && c != '\r' && c != '\n';
    }
    return plain ? value : '"' + value.replace("\"", "\"\"") + '"';
  }

  private Csv() {}
}
