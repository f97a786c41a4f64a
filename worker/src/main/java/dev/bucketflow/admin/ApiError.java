package dev.bucketflow.admin;

/**
 * A request the admin API refuses: answered as {@code status} with {@code {"error": code,
 * "message": message}}, never a stack trace. {@code code} is a stable snake_case word clients may
 * branch on; {@code message} names the offending parameter or field for a person.
 */
final class ApiError extends RuntimeException {

  final int status;
  final String code;

  ApiError(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  static ApiError badRequest(String code, String message) {
    return new ApiError(400, code, message);
  }

  static ApiError notFound(String code, String message) {
    return new ApiError(404, code, message);
  }

  static ApiError conflict(String code, String message) {
    return new ApiError(409, code, message);
  }

  /** A value quoted in a message: at most 80 characters, control characters escaped. */
  static String quote(String value) {
    if (value == null) return "null";
    StringBuilder out = new StringBuilder("'");
    int n = 0;
    for (int i = 0; i < value.length() && n < 80; i++, n++) {
      char c = value.charAt(i);
      if (c < 0x20 || Character.isSurrogate(c)) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    if (value.length() > 80) out.append("...");
    return out.append('\'').toString();
  }
}
