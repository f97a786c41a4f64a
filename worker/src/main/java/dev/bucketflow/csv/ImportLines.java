package dev.bucketflow.csv;

import dev.bucketflow.ingest.EventParser;
import dev.bucketflow.ingest.StorableText;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * The lines of an import file, classified one at a time: a user id to send, the header, or a
 * rejection with its reason. User ids are checked here against the rule the ingest shards apply to
 * {@code userId} (non-blank, storable text, at most {@link EventParser#MAX_USER_ID_BYTES} UTF-8
 * bytes), so a line the shards would refuse is reported with its line number instead of vanishing
 * into {@code rejected_events}. Ids are taken exactly as written (no trimming): an export writes
 * them so, and a round trip must not change them.
 */
public final class ImportLines implements AutoCloseable {

  /**
   * First-column spellings that make line 1 a header (exact case, surrounding whitespace ignored).
   */
  public static final Set<String> HEADERS = Set.of("userId", "user_id", "id");

  /** Why a line was not sent; {@link #text} is what the summary prints. */
  public enum Reason {
    EMPTY_ID("empty id"),
    TOO_LONG(
        "id over " + EventParser.MAX_USER_ID_BYTES + " UTF-8 bytes (the ingest limit for userId)"),
    NUL_BYTE("id contains a NUL byte"),
    INVALID_TEXT("id is not valid text (unpaired UTF-16 surrogate)"),
    INVALID_UTF8("id is not valid UTF-8 (the file is read as UTF-8)"),
    UNTERMINATED_QUOTE("quoted id never closed before the end of the file");

    public final String text;

    Reason(String text) {
      this.text = text;
    }
  }

  /**
   * A classified line: exactly one of {@code userId} (send it), {@code header}, or {@code rejected}
   * is set.
   */
  public record Line(long number, String userId, boolean header, Reason rejected) {}

  private final FirstColumnReader records;

  public ImportLines(Reader in) {
    this.records = new FirstColumnReader(in);
  }

  /** The next line, or null at the end of the file. */
  public Line next() throws IOException {
    FirstColumnReader.Record r = records.next();
    if (r == null) return null;
    if (r.line() == 1 && !r.unterminated() && HEADERS.contains(r.first().strip())) {
      return new Line(1, null, true, null);
    }
    Reason reason = r.unterminated() ? Reason.UNTERMINATED_QUOTE : check(r.first(), r.cut());
    return reason == null
        ? new Line(r.line(), r.first(), false, null)
        : new Line(r.line(), null, false, reason);
  }

  /**
   * The shards' userId rule (see {@code EventParser.checkUserId}), or null when {@code id} passes.
   */
  static Reason check(String id, boolean cut) {
    if (id.isBlank()) return Reason.EMPTY_ID;
    if (id.indexOf('\0') >= 0) return Reason.NUL_BYTE;
    if (StorableText.problem(id) != null) return Reason.INVALID_TEXT;
    // The reader replaces undecodable bytes with U+FFFD; sending that would store a different id.
    if (id.indexOf('\uFFFD') >= 0) return Reason.INVALID_UTF8;
    if (cut || id.getBytes(StandardCharsets.UTF_8).length > EventParser.MAX_USER_ID_BYTES)
      return Reason.TOO_LONG;
    return null;
  }

  @Override
  public void close() throws IOException {
    records.close();
  }
}
