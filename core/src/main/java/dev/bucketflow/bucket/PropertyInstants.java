package dev.bucketflow.bucket;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How a date-relative operator reads a property as an instant (README "Buckets and criteria"). The
 * criteria→SQL compiler implements exactly the same rules, so the accepted spellings are
 * deliberately narrow and spelled out here rather than "whatever a parser takes":
 *
 * <ul>
 *   <li>A JSON <b>number</b> with an integral value (3 and 3.0 alike) is epoch milliseconds, within
 *       {@link #MIN_MILLIS}..{@link #MAX_MILLIS} (years 0001 to 9999 UTC).
 *   <li>A JSON <b>string</b> matching {@link #PATTERN}: {@code YYYY-MM-DDThh:mm:ss}, an optional
 *       fraction of 1–9 digits, then {@code Z} or an offset {@code ±hh:mm} up to 14:00; a real
 *       calendar date (no February 30, year 0001–9999), hours 00–23, seconds 00–59 (no leap
 *       second). The fraction is <em>truncated</em> to microseconds, the database's precision.
 *   <li>Anything else (missing, JSON null, booleans, other strings, fractional or out-of-range
 *       numbers) is no instant: the condition is false.
 * </ul>
 */
public final class PropertyInstants {

  /** The accepted string form; the same text is used as a PostgreSQL regular expression. */
  public static final String PATTERN =
      "^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
          + "-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
          + "(\\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])$";

  /** 0001-01-01T00:00:00Z. */
  public static final long MIN_MILLIS = -62_135_596_800_000L;

  /** 9999-12-31T23:59:59.999Z. */
  public static final long MAX_MILLIS = 253_402_300_799_999L;

  private static final Pattern COMPILED = Pattern.compile(PATTERN);

  private PropertyInstants() {}

  /** The instant a property value denotes, or empty (see class doc). */
  public static Optional<Instant> read(JsonNode value) {
    if (value == null) {
      return Optional.empty();
    }
    if (value.isNumber()) {
      BigDecimal n = value.decimalValue();
      if (n.signum() != 0 && n.stripTrailingZeros().scale() > 0) {
        return Optional.empty();
      }
      if (n.compareTo(BigDecimal.valueOf(MIN_MILLIS)) < 0
          || n.compareTo(BigDecimal.valueOf(MAX_MILLIS)) > 0) {
        return Optional.empty();
      }
      return Optional.of(Instant.ofEpochMilli(n.longValueExact()));
    }
    if (value.isTextual() && COMPILED.matcher(value.textValue()).matches()) {
      try {
        // ISO_OFFSET_DATE_TIME resolves strictly: a date that does not exist is refused.
        return Optional.of(
            OffsetDateTime.parse(value.textValue(), DateTimeFormatter.ISO_OFFSET_DATE_TIME)
                .toInstant()
                .truncatedTo(ChronoUnit.MICROS));
      } catch (DateTimeParseException e) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }
}
