package dev.bucketflow.db;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Masks credentials in text meant for a terminal or a log: database URLs and the messages of
 * exceptions that quote them (Hikari, the PostgreSQL driver, {@link java.net.URI}). Everything the
 * worker and the CLI print about a database goes through {@link #redact}, so a password handed over
 * in any accepted form never reaches stdout, stderr or a log file.
 *
 * <p>It errs on the side of masking: a parameter value runs to the next {@code &}, whitespace or
 * {@code ": "} (how messages append a cause to a URL), so a stray character next to a secret is
 * masked with it rather than a secret character printed. Redacting twice changes nothing.
 */
public final class Secrets {

  public static final String MASK = "***";

  /**
   * Known secrets shorter than this are not masked by value: masking every "a" or "pg" in a message
   * would make it unreadable, and such a value is no secret worth the noise.
   */
  static final int MIN_LITERAL = 4;

  /**
   * {@code name=value} after {@code ?}, {@code &}, {@code ;}, whitespace or the start: JDBC query
   * parameters and the {@code key=value} lists drivers quote in messages. The value stops before
   * {@code ": "} so "at &lt;url&gt;: cause" keeps its colon.
   */
  private static final Pattern PARAM =
      Pattern.compile("(^|[?&;\\s])([^=&?;\\s]+)=((?:[^&\\s:]|:(?!\\s))*)");

  /**
   * {@code //user:password@} of any URL ({@code postgres://}, {@code postgresql://}, {@code
   * jdbc:postgresql://}). The password runs to the last {@code @} before a {@code /} or whitespace,
   * as URI parsers read an authority; {@code ?} and {@code #} are part of it because hand-written
   * passwords contain them unencoded.
   */
  private static final Pattern USERINFO = Pattern.compile("(//[^/?#@:\\s]*:)([^/\\s]*)@");

  private Secrets() {}

  /**
   * {@code text} with every credential masked: URL userinfo passwords, query parameters whose
   * (URL-decoded, case-insensitive) name contains {@code password}, {@code secret} or {@code
   * token}, and every literal occurrence of {@code knownSecrets} (such as the value of {@code
   * --db-password}; null and empty ones are ignored). Null stays null.
   */
  public static String redact(String text, String... knownSecrets) {
    if (text == null) return null;
    String out = text;
    // Literals first: a known password also embedded in a URL would otherwise be masked only there.
    for (String secret : knownSecrets) {
      if (secret != null && secret.length() >= MIN_LITERAL) out = out.replace(secret, MASK);
    }
    out = USERINFO.matcher(out).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + MASK + "@"));
    Matcher m = PARAM.matcher(out);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String replacement = sensitive(m.group(2)) ? m.group(1) + m.group(2) + "=" + MASK : m.group();
      m.appendReplacement(sb, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  /**
   * Whether a parameter name names a credential; decoded first so {@code pass%77ord} is caught too.
   */
  static boolean sensitive(String name) {
    String decoded;
    try {
      decoded = URLDecoder.decode(name, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      decoded = name;
    }
    String n = decoded.toLowerCase(Locale.ROOT);
    return n.contains("password") || n.contains("secret") || n.contains("token");
  }
}
