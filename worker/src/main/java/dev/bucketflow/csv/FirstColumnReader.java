package dev.bucketflow.csv;

import java.io.IOException;
import java.io.Reader;

/**
 * Streams the first field of each RFC 4180 record from a reader, one record at a time, so a file of
 * any length is read in constant memory. A quoted field may hold commas, doubled quotes and line
 * breaks; the other fields of a record are skipped (their quotes still parsed, so a line break
 * inside one does not start a record). Records end at LF, CRLF or a lone CR. A first field longer
 * than {@link #MAX_FIELD_CHARS} is cut there and flagged, so one endless line cannot exhaust the
 * heap.
 */
public final class FirstColumnReader implements AutoCloseable {

  /** Far above any acceptable user id (256 UTF-8 bytes); past it a field is only counted. */
  public static final int MAX_FIELD_CHARS = 4096;

  /**
   * One record: the physical line it starts on, its first field (as written, unquoted), whether
   * that field was cut at {@link #MAX_FIELD_CHARS}, and whether a quote was still open at the end
   * of the input.
   */
  public record Record(long line, String first, boolean cut, boolean unterminated) {}

  private final Reader in;
  private final StringBuilder field = new StringBuilder();
  private long line = 1;
  private int peeked = -2;
  private boolean started;

  public FirstColumnReader(Reader in) {
    this.in = in;
  }

  /**
   * The next record, or null at the end of the input (a final line break does not start a record).
   */
  public Record next() throws IOException {
    int c = read();
    if (!started) {
      started = true;
      if (c == '\uFEFF') c = read(); // a UTF-8 byte order mark is not part of the header
    }
    if (c < 0) return null;
    long startLine = line;
    field.setLength(0);
    boolean cut = false;
    boolean unterminated = false;
    boolean first = true;
    boolean quoted = false;
    boolean afterQuote = false; // inside a quoted field, after its closing quote
    boolean fieldStart = true;
    while (true) {
      if (c < 0) {
        unterminated = quoted && !afterQuote;
        break;
      }
      if (quoted && !afterQuote) {
        if (c == '"') {
          int n = read();
          if (n == '"') {
            cut |= append(first, '"');
          } else {
            afterQuote = true;
            c = n;
            continue;
          }
        } else {
          cut |= append(first, (char) c);
          if ((c == '\n' || c == '\r') && lineBreak(c)) cut |= append(first, '\n');
        }
        c = read();
        continue;
      }
      if (c == ',') {
        first = false;
        quoted = false;
        afterQuote = false;
        fieldStart = true;
        c = read();
        continue;
      }
      if (c == '\n' || c == '\r') {
        lineBreak(c);
        break;
      }
      if (c == '"' && fieldStart) {
        quoted = true;
      } else {
        // Text after a closing quote, or a quote inside an unquoted field, is kept as written.
        cut |= append(first, (char) c);
      }
      fieldStart = false;
      c = read();
    }
    return new Record(startLine, field.toString(), cut, unterminated);
  }

  /**
   * Counts a line break; a CR followed by LF is one break. Returns whether that LF was consumed.
   */
  private boolean lineBreak(int c) throws IOException {
    line++;
    if (c != '\r') return false;
    int n = read();
    if (n == '\n') return true;
    peeked = n;
    return false;
  }

  private boolean append(boolean first, char c) {
    if (!first) return false;
    if (field.length() >= MAX_FIELD_CHARS) return true;
    field.append(c);
    return false;
  }

  private int read() throws IOException {
    if (peeked != -2) {
      int p = peeked;
      peeked = -2;
      return p;
    }
    return in.read();
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
