package dev.bucketflow.csv;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.csv.ImportLines.Line;
import dev.bucketflow.csv.ImportLines.Reason;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The import file's lines: header rule, RFC 4180 quoting, and the userId rule of the shards. */
class ImportLinesTest {

  static List<Line> lines(Reader in) throws IOException {
    List<Line> all = new ArrayList<>();
    try (ImportLines lines = new ImportLines(in)) {
      for (Line l = lines.next(); l != null; l = lines.next()) all.add(l);
    }
    return all;
  }

  static List<Line> lines(String text) throws IOException {
    return lines(new StringReader(text));
  }

  static List<String> ids(String text) throws IOException {
    return lines(text).stream().filter(l -> l.userId() != null).map(Line::userId).toList();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"userId", "user_id", "id", "  userId\t", "\"userId\"", "id,enteredAt,entryCount"})
  void aFirstLineNamingTheIdColumnIsAHeader(String header) throws IOException {
    List<Line> all = lines(header + "\nu1\nu2\n");

    assertThat(all.get(0).header()).isTrue();
    assertThat(all.get(0).userId()).isNull();
    assertThat(ids(header + "\nu1\nu2\n")).containsExactly("u1", "u2");
  }

  @ParameterizedTest
  @ValueSource(strings = {"userid2", "UserId", "USERID", "ID", "user-id", "userIds", "ids"})
  void otherFirstLinesAreUsers(String first) throws IOException {
    assertThat(ids(first + "\nu1\n")).containsExactly(first, "u1");
    assertThat(lines(first + "\nu1\n")).noneMatch(Line::header);
  }

  @Test
  void onlyTheFirstLineCanBeAHeader() throws IOException {
    assertThat(ids("u1\nuserId\nid\n")).containsExactly("u1", "userId", "id");
  }

  @Test
  void aByteOrderMarkDoesNotHideTheHeader() throws IOException {
    assertThat(lines("\uFEFFuserId\nu1\n").get(0).header()).isTrue();
    assertThat(ids("\uFEFFu1\n")).containsExactly("u1");
  }

  @Test
  void quotedFirstColumnsKeepCommasQuotesAndLineBreaks() throws IOException {
    String file =
        "userId,enteredAt\n"
            + "\"a,b\",2026-01-01T00:00:00Z\n"
            + "\"say \"\"hi\"\"\",x\n"
            + "\"two\nlines\",x\n"
            + "\"crlf\r\ninside\"\r\n"
            + "plain,\"other, \"\"column\"\"\nwith a break\"\n"
            + "last";
    List<Line> all = lines(file);

    assertThat(all)
        .extracting(Line::userId)
        .containsExactly(
            null, "a,b", "say \"hi\"", "two\nlines", "crlf\r\ninside", "plain", "last");
    // Line numbers are where each record starts, counting the breaks inside quotes.
    assertThat(all).extracting(Line::number).containsExactly(1L, 2L, 3L, 4L, 6L, 8L, 10L);
  }

  @Test
  void idsAreTakenAsWrittenAndOtherColumnsIgnored() throws IOException {
    assertThat(ids(" spaced ,1,2\r\nu2\ru3\r\n")).containsExactly(" spaced ", "u2", "u3");
  }

  @Test
  void rejectedLinesSayWhy() throws IOException {
    String tooLong = "x".repeat(257);
    String longMultibyte = "é".repeat(129); // 258 UTF-8 bytes in 129 chars
    String justFits = "é".repeat(128);
    String file =
        "u1\n\n   \n,second-column\n\"\"\n"
            + tooLong
            + "\n"
            + longMultibyte
            + "\n"
            + justFits
            + "\n"
            + "nul\0byte\n"
            + "lone\uD800surrogate\n"
            + "y".repeat(FirstColumnReader.MAX_FIELD_CHARS + 10)
            + "\n"
            + "u2\n";
    List<Line> all = lines(file);

    assertThat(all)
        .extracting(Line::rejected)
        .containsExactly(
            null,
            Reason.EMPTY_ID,
            Reason.EMPTY_ID,
            Reason.EMPTY_ID,
            Reason.EMPTY_ID,
            Reason.TOO_LONG,
            Reason.TOO_LONG,
            null,
            Reason.NUL_BYTE,
            Reason.INVALID_TEXT,
            Reason.TOO_LONG,
            null);
    assertThat(all)
        .extracting(Line::number)
        .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L);
    assertThat(all)
        .filteredOn(l -> l.userId() != null)
        .extracting(Line::userId)
        .containsExactly("u1", justFits, "u2");
    assertThat(all).filteredOn(l -> l.rejected() != null).allMatch(l -> l.userId() == null);
    assertThat(Reason.TOO_LONG.text).contains("256");
  }

  @Test
  void anUnclosedQuoteRejectsTheRestOfTheFile() throws IOException {
    List<Line> all = lines("u1\n\"open\nu2\nu3\n");

    assertThat(all).hasSize(2);
    assertThat(all.get(1).rejected()).isEqualTo(Reason.UNTERMINATED_QUOTE);
    assertThat(all.get(1).number()).isEqualTo(2);
  }

  @Test
  void undecodableBytesAreRefusedNotSentAltered() throws IOException {
    byte[] bytes = {'u', '1', '\n', 'b', 'a', 'd', (byte) 0xC3, '\n', 'u', '2', '\n'};
    var decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE);
    List<Line> all = lines(new InputStreamReader(new ByteArrayInputStream(bytes), decoder));

    assertThat(all).extracting(Line::rejected).containsExactly(null, Reason.INVALID_UTF8, null);
  }

  @Test
  void anEmptyFileHasNoLinesAndAFinalBreakStartsNone() throws IOException {
    assertThat(lines("")).isEmpty();
    assertThat(lines("u1\n")).hasSize(1);
    assertThat(lines("u1\r\n")).hasSize(1);
  }

  @Test
  void whatTheExporterQuotesTheImporterReadsBack() throws IOException {
    List<String> ids =
        List.of(
            "plain", "a,b", "q\"uote", "line\nbreak", "cr\rret", "crlf\r\nboth", "\"", ",", "ünï");
    StringBuilder file = new StringBuilder("userId,enteredAt\n");
    for (String id : ids) file.append(Csv.field(id)).append(",2026-01-01T00:00:00Z\n");

    assertThat(ids(file.toString())).containsExactlyElementsOf(ids);
    assertThat(Csv.field("plain")).isEqualTo("plain");
    assertThat(Csv.field("a,b")).isEqualTo("\"a,b\"");
    assertThat(Csv.field("q\"uote")).isEqualTo("\"q\"\"uote\"");
  }
}
