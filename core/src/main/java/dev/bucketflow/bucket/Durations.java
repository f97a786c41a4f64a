package dev.bucketflow.bucket;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/** Duration helpers and the one parser for the two JSON spellings DESIGN §6 accepts. */
public final class Durations {
  private static final Set<String> UNITS = Set.of("days", "hours", "minutes", "seconds");
  private static final String EXPECTED =
      "expected an object like {\"days\":30} (days, hours, minutes, seconds) or an ISO-8601 "
          + "string like \"P30D\", \"PT12H\" or \"P1DT2H\"";

  private Durations() {}

  /**
   * Longest duration a definition may use: with event times from 1970 to now, no window, dwell or
   * period arithmetic can then leave PostgreSQL's timestamp range (or Java's).
   */
  public static final Duration MAX = Duration.ofDays(36_500);

  /**
   * An operator's setting (environment, flag): a whole number of seconds in ASCII digits ({@code
   * 300}) or an ISO-8601 duration ({@code PT5M}, {@code P30D}).
   *
   * @throws RuntimeException ({@link DateTimeParseException} or {@link NumberFormatException}) when
   *     it is neither; callers name the setting in their own message
   */
  public static Duration ofSetting(String text) {
    String s = text.trim();
    return !s.isEmpty() && s.chars().allMatch(c -> c >= '0' && c <= '9')
        ? Duration.ofSeconds(Long.parseLong(s))
        : Duration.parse(s);
  }

  public static Duration days(long n) {
    return Duration.ofDays(n);
  }

  public static Duration hours(long n) {
    return Duration.ofHours(n);
  }

  public static Duration minutes(long n) {
    return Duration.ofMinutes(n);
  }

  public static Duration seconds(long n) {
    return Duration.ofSeconds(n);
  }

  /**
   * Parses {@code {"days":..,"hours":..,"minutes":..,"seconds":..}} (any non-empty subset,
   * non-negative integers, summed) or an ISO-8601 duration string.
   *
   * @throws IllegalArgumentException with a message meant for a {@link Problem}; callers that must
   *     not throw (the JSON loader) catch it
   */
  public static Duration parse(JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      throw new IllegalArgumentException(EXPECTED);
    }
    if (node.isTextual()) {
      return bounded(parseIso(node.textValue()), node);
    }
    if (node.isObject()) {
      return bounded(parseObject(node), node);
    }
    throw new IllegalArgumentException(EXPECTED + ", got " + node);
  }

  private static Duration bounded(Duration d, JsonNode node) {
    if (d.compareTo(MAX) > 0) {
      throw new IllegalArgumentException("duration " + node + " is too large (at most 36500 days)");
    }
    return d;
  }

  /**
   * ISO-8601 with whole days as days ({@code P3D}, {@code P1DT2H}, {@code PT90S}) — the spelling a
   * user wrote as {@code {"days":3}} reads back as, where {@link Duration#toString} says {@code
   * PT72H}. Parses back to the same duration with {@link #parseIso}.
   */
  public static String iso(Duration d) {
    long days = d.toDays();
    Duration rest = d.minusDays(days);
    if (days == 0) return d.toString();
    return "P" + days + "D" + (rest.isZero() ? "" : rest.toString().substring(1));
  }

  /**
   * ISO-8601 in the subset {@link Duration#parse} supports (days and smaller; no months or years).
   */
  public static Duration parseIso(String text) {
    Duration d;
    try {
      d = Duration.parse(text);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("\"" + text + "\" is not a duration; " + EXPECTED);
    }
    if (d.isNegative()) {
      throw new IllegalArgumentException("duration \"" + text + "\" must not be negative");
    }
    return d;
  }

  private static Duration parseObject(JsonNode node) {
    if (node.isEmpty()) {
      throw new IllegalArgumentException("empty duration object; " + EXPECTED);
    }
    Duration total = Duration.ZERO;
    Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
    try {
      while (fields.hasNext()) {
        Map.Entry<String, JsonNode> f = fields.next();
        String unit = f.getKey();
        if (!UNITS.contains(unit)) {
          throw new IllegalArgumentException(
              "unknown duration unit \"" + unit + "\" (use days, hours, minutes, seconds)");
        }
        JsonNode n = f.getValue();
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0) {
          throw new IllegalArgumentException(
              "duration " + unit + " must be a non-negative integer, got " + n);
        }
        long amount = n.longValue();
        total =
            total.plus(
                switch (unit) {
                  case "days" -> Duration.ofDays(amount);
                  case "hours" -> Duration.ofHours(amount);
                  case "minutes" -> Duration.ofMinutes(amount);
                  default -> Duration.ofSeconds(amount);
                });
      }
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("duration " + node + " is too large");
    }
    return total;
  }
}
