package dev.bucketflow.admin;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Parsing and bounds of request parameters; every refusal is an {@link ApiError} naming the
 * parameter.
 */
final class Params {

  /** As the ingest door: user ids are at most 256 UTF-8 bytes (README, input limits). */
  static final int MAX_USER_ID_BYTES = 256;

  private Params() {}

  /** A user id from the path: non-blank, at most 256 UTF-8 bytes, no NUL or unpaired surrogate. */
  static String userId(String raw) {
    if (raw == null || raw.isBlank())
      throw ApiError.badRequest("invalid_user_id", "userId: must not be blank");
    checkText("userId", raw);
    if (raw.getBytes(StandardCharsets.UTF_8).length > MAX_USER_ID_BYTES) {
      throw ApiError.badRequest(
          "invalid_user_id", "userId: over " + MAX_USER_ID_BYTES + " UTF-8 bytes");
    }
    return raw;
  }

  /** Refuses NUL characters and unpaired surrogates, which PostgreSQL text cannot hold. */
  static void checkText(String name, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == 0) throw ApiError.badRequest("invalid_text", name + ": contains a NUL character");
      if (Character.isHighSurrogate(c)
          && i + 1 < value.length()
          && Character.isLowSurrogate(value.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw ApiError.badRequest("invalid_text", name + ": contains an unpaired surrogate");
      }
    }
  }

  static int limit(String raw, int defaultValue, int max) {
    if (raw == null || raw.isEmpty()) return defaultValue;
    try {
      int n = Integer.parseInt(raw);
      if (n >= 1 && n <= max) return n;
    } catch (NumberFormatException ignored) {
      // falls through to the refusal
    }
    throw ApiError.badRequest(
        "invalid_limit",
        "limit: expected an integer from 1 to " + max + ", got " + ApiError.quote(raw));
  }

  /** An ISO-8601 instant ({@code 2026-12-01T00:00:00Z}), or {@code defaultValue} when absent. */
  static Instant instant(String name, String raw, Instant defaultValue) {
    if (raw == null || raw.isEmpty()) return defaultValue;
    try {
      return Instant.parse(raw);
    } catch (DateTimeParseException e) {
      throw ApiError.badRequest(
          "invalid_" + name,
          name
              + ": expected an ISO-8601 instant such as 2026-12-01T00:00:00Z, got "
              + ApiError.quote(raw));
    }
  }
}
