package dev.bucketflow.admin;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/**
 * The opaque {@code next} / {@code after} keyset cursor of a members page: the sort key of the last
 * row served ({@code time}, {@code id}) and the status filter it was served under, so a cursor
 * cannot be replayed against another ordering. Text form: base64url of {@code v1|<status>|<epoch
 * micros>|<membership id>}.
 */
record MemberCursor(String status, long epochMicros, long id) {

  String encode() {
    String raw = "v1|" + status + "|" + epochMicros + "|" + id;
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(raw.getBytes(StandardCharsets.UTF_8));
  }

  static MemberCursor of(String status, Instant time, long id) {
    long micros =
        Math.addExact(
            Math.multiplyExact(time.getEpochSecond(), 1_000_000L), time.getNano() / 1_000);
    return new MemberCursor(status, micros, id);
  }

  Instant time() {
    return Instant.ofEpochSecond(
        Math.floorDiv(epochMicros, 1_000_000L), Math.floorMod(epochMicros, 1_000_000L) * 1_000L);
  }

  /**
   * @throws ApiError 400 {@code invalid_cursor} unless {@code text} is a cursor this API issued for
   *     {@code status}
   */
  static MemberCursor decode(String text, String status) {
    String[] parts;
    try {
      if (text.length() > 200) throw new IllegalArgumentException("too long");
      parts =
          new String(Base64.getUrlDecoder().decode(text), StandardCharsets.UTF_8).split("\\|", -1);
      if (parts.length != 4 || !parts[0].equals("v1")) throw new IllegalArgumentException("shape");
      MemberCursor c =
          new MemberCursor(parts[1], Long.parseLong(parts[2]), Long.parseLong(parts[3]));
      if (!c.status.equals(status)) {
        throw ApiError.badRequest(
            "invalid_cursor",
            "after: this cursor belongs to a listing with status="
                + c.status
                + ", not "
                + status
                + "; restart without 'after'");
      }
      return c;
    } catch (IllegalArgumentException e) {
      throw ApiError.badRequest(
          "invalid_cursor",
          "after: not a cursor issued by this API (use the 'next' value of the previous page)");
    }
  }
}
