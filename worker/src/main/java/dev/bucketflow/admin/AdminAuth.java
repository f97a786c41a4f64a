package dev.bucketflow.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The mutation guard: {@code Authorization: Bearer <BUCKETFLOW_ADMIN_TOKEN>}. With no token
 * configured every mutation is refused with 403 and a message saying how to enable them; with one,
 * a missing or different token is 401. Compared in constant time. Reads never call this.
 */
final class AdminAuth {

  static final String HOW_TO =
      "admin mutations are disabled: start the worker with BUCKETFLOW_ADMIN_TOKEN=<a long random secret> "
          + "in its environment, then send 'Authorization: Bearer <that secret>'";

  private final byte[] token;

  AdminAuth(String token) {
    this.token = token == null || token.isEmpty() ? null : token.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * @throws ApiError 403 {@code mutations_disabled} or 401 {@code unauthorized}
   */
  void check(String authorizationHeader) {
    if (token == null) throw new ApiError(403, "mutations_disabled", HOW_TO);
    String prefix = "Bearer ";
    if (authorizationHeader == null
        || !authorizationHeader.regionMatches(true, 0, prefix, 0, prefix.length())) {
      throw new ApiError(
          401,
          "unauthorized",
          "send 'Authorization: Bearer <BUCKETFLOW_ADMIN_TOKEN>' to change anything");
    }
    byte[] given =
        authorizationHeader.substring(prefix.length()).trim().getBytes(StandardCharsets.UTF_8);
    if (!MessageDigest.isEqual(given, token)) {
      throw new ApiError(
          401, "unauthorized", "the bearer token is not this worker's BUCKETFLOW_ADMIN_TOKEN");
    }
  }
}
