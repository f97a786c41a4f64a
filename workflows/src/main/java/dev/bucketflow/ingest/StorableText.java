package dev.bucketflow.ingest;

/**
 * Text in a form PostgreSQL {@code text} accepts, for showing an operator what was sent: NUL and
 * unpaired surrogates (which PostgreSQL refuses or the driver turns into {@code ?}) become the six
 * ASCII characters of their JSON escape, so nothing is lost or silently altered.
 */
public final class StorableText {

  /** Escapes what PostgreSQL cannot store and cuts the result to at most {@code maxChars}. */
  public static String of(String s, int maxChars) {
    if (s == null) return null;
    StringBuilder out = null;
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      boolean bad;
      if (c == 0) {
        bad = true;
      } else if (Character.isHighSurrogate(c)) {
        bad = i + 1 >= n || !Character.isLowSurrogate(s.charAt(i + 1));
        if (!bad) {
          if (out != null) out.append(c).append(s.charAt(i + 1));
          i++;
          continue;
        }
      } else {
        bad = Character.isLowSurrogate(c);
      }
      if (bad && out == null) out = new StringBuilder(n + 16).append(s, 0, i);
      if (out != null) {
        if (bad) out.append(String.format("\\u%04x", (int) c));
        else out.append(c);
      }
    }
    String r = out == null ? s : out.toString();
    return r.length() <= maxChars ? r : cut(r, maxChars) + "…(" + r.length() + " chars)";
  }

  /** The first problem making {@code s} unstorable, or null: a NUL or an unpaired surrogate. */
  public static String problem(String s) {
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c == 0) return "contains a NUL character (\\u0000) at index " + i;
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
          continue;
        }
        return String.format("contains an unpaired surrogate (\\u%04x) at index %d", (int) c, i);
      }
      if (Character.isLowSurrogate(c)) {
        return String.format("contains an unpaired surrogate (\\u%04x) at index %d", (int) c, i);
      }
    }
    return null;
  }

  /** The first line of a (possibly multi-line) error message, for a one-line detail. */
  public static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  /** Cuts at most {@code max} chars without splitting a surrogate pair. */
  static String cut(String s, int max) {
    if (s.length() <= max) return s;
    int end = max;
    if (end > 0 && Character.isHighSurrogate(s.charAt(end - 1))) end--;
    return s.substring(0, end);
  }

  private StorableText() {}
}
