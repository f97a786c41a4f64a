package dev.bucketflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The fast path agrees with {@link Instant#parse} on every input: same instant, or both refuse. */
class IsoInstantsTest {

  static Optional<Instant> jdk(String s) {
    try {
      return Optional.of(Instant.parse(s));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  static Optional<Instant> ours(String s) {
    try {
      return Optional.of(IsoInstants.parse(s));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  @Test
  void edgeCasesAgreeWithTheJdk() {
    List<String> cases =
        List.of(
            "2026-11-26T10:00:00Z",
            "2026-11-26T10:00:00.5Z",
            "2026-11-26T10:00:00.123456789Z",
            "2026-11-26T10:00:00.1234567891Z",
            "2026-11-26T10:00:00.Z",
            "2024-02-29T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-12-31T23:59:60Z",
            "2026-12-31T24:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "0000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2026-11-26t10:00:00Z",
            "2026-11-26T10:00:00z",
            "2026-11-26T10:00:00+01:00",
            "2026-11-26T10:00:00.5+01:00",
            "+12026-11-26T10:00:00Z",
            "2026-11-26T10:00Z",
            "2026-11-26 10:00:00Z",
            "2026-11-26T10:00:00\u0000Z",
            "2026-1١-26T10:00:00Z",
            "２026-11-26T10:00:00Z",
            "2026-11-26T1a:00:00Z",
            "-026-11-26T10:00:00Z",
            "2026-11-26T10:00:00.-1Z",
            "",
            "Z",
            "2026-11-26T10:00:00ZZ");
    for (String s : cases) {
      assertThat(ours(s)).as(s).isEqualTo(jdk(s));
    }
  }

  @Test
  void theFastPathTakesTheCommonFormAndLeavesTheRest() {
    assertThat(IsoInstants.fastPath("2026-11-26T10:00:00.25Z"))
        .isEqualTo(Instant.parse("2026-11-26T10:00:00.25Z"));
    assertThat(IsoInstants.fastPath("2026-11-26T10:00:00+01:00")).isNull();
    assertThat(IsoInstants.fastPath("2026-12-31T23:59:60Z")).isNull();
    assertThatThrownBy(() -> IsoInstants.parse("2026-02-30T00:00:00Z"))
        .isInstanceOf(DateTimeParseException.class);
  }

  /** Random instants in the common form, and random one-character mutations of them. */
  @Test
  void randomInputsAgreeWithTheJdk() {
    Random random = new Random(13);
    String alphabet = "0123456789-:.TZz+ x";
    List<String> inputs = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      long seconds = random.nextLong(Instant.parse("9999-12-31T23:59:59Z").getEpochSecond());
      Instant at =
          Instant.ofEpochSecond(seconds, random.nextBoolean() ? 0 : random.nextInt(1_000_000_000));
      String s = at.toString(); // the JDK's own form: 0, 3, 6 or 9 fraction digits
      if (random.nextInt(4) == 0) {
        // another fraction length, 1 to 10 digits
        int digits = 1 + random.nextInt(10);
        StringBuilder f = new StringBuilder(".");
        for (int d = 0; d < digits; d++) f.append((char) ('0' + random.nextInt(10)));
        s = s.substring(0, 19) + f + "Z";
      }
      if (random.nextInt(3) == 0) {
        char[] c = s.toCharArray();
        c[random.nextInt(c.length)] = alphabet.charAt(random.nextInt(alphabet.length()));
        s = new String(c);
      }
      inputs.add(s);
    }
    int accepted = 0;
    for (String s : inputs) {
      Optional<Instant> expected = jdk(s);
      assertThat(ours(s)).as(s).isEqualTo(expected);
      if (expected.isPresent()) accepted++;
    }
    // Both branches exercised: most parse, a good share are refused.
    assertThat(accepted).isBetween(10_000, 19_000);
  }
}
