package dev.bucketflow.posthog;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of the PostHog mirror (DESIGN §11). Off unless {@code POSTHOG_API_KEY} is set.
 *
 * @param apiKey the project API key ({@code phc_...}); null or blank disables the mirror
 * @param host the PostHog ingestion host, e.g. {@code https://us.i.posthog.com}, {@code
 *     https://eu.i.posthog.com} or a self-hosted URL (a path prefix is kept)
 * @param timeout connect and per-request timeout of one capture call
 * @param maxAttempts attempts per transition before giving up (at least 1)
 * @param initialBackoff wait before the second attempt; doubles per attempt, capped at {@link
 *     #MAX_BACKOFF} (or at {@code initialBackoff} when that is larger)
 */
public record PostHogSettings(
    String apiKey, URI host, Duration timeout, int maxAttempts, Duration initialBackoff) {

  public static final String API_KEY_ENV = "POSTHOG_API_KEY";
  public static final String HOST_ENV = "POSTHOG_HOST";
  public static final URI DEFAULT_HOST = URI.create("https://us.i.posthog.com");
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
  public static final int DEFAULT_MAX_ATTEMPTS = 6;
  public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofSeconds(1);
  public static final Duration MAX_BACKOFF = Duration.ofMinutes(1);

  public PostHogSettings {
    host = host == null ? DEFAULT_HOST : host;
    String scheme = host.getScheme();
    if (!host.isAbsolute()
        || host.getHost() == null
        || !("http".equalsIgnoreCase(scheme) || "https".equalsIgnoreCase(scheme))) {
      throw new IllegalArgumentException(
          HOST_ENV + " must be an absolute http(s) URL, got " + host);
    }
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(initialBackoff, "initialBackoff");
    if (timeout.isNegative() || timeout.isZero())
      throw new IllegalArgumentException("timeout must be positive");
    if (initialBackoff.isNegative())
      throw new IllegalArgumentException("initialBackoff must not be negative");
    if (maxAttempts < 1) throw new IllegalArgumentException("maxAttempts must be at least 1");
  }

  /**
   * Reads {@code POSTHOG_API_KEY} and {@code POSTHOG_HOST} (default {@link #DEFAULT_HOST}); timeout
   * and retry use the defaults. An unparsable host is a boot error naming the variable.
   */
  public static PostHogSettings fromEnv(Map<String, String> env) {
    String key = env.get(API_KEY_ENV);
    String host = env.get(HOST_ENV);
    URI uri;
    try {
      uri = host == null || host.isBlank() ? DEFAULT_HOST : URI.create(host.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(HOST_ENV + " is not a URL: " + host, e);
    }
    return new PostHogSettings(
        key == null ? null : key.trim(),
        uri,
        DEFAULT_TIMEOUT,
        DEFAULT_MAX_ATTEMPTS,
        DEFAULT_INITIAL_BACKOFF);
  }

  /** The mirror switched off: no key. */
  public static PostHogSettings disabled() {
    return new PostHogSettings(
        null, DEFAULT_HOST, DEFAULT_TIMEOUT, DEFAULT_MAX_ATTEMPTS, DEFAULT_INITIAL_BACKOFF);
  }

  /** Whether the mirror is on: a non-blank API key. */
  public boolean enabled() {
    return apiKey != null && !apiKey.isBlank();
  }

  /** The capture endpoint, {@code <host>/i/v0/e/} (see {@link PostHogClient}). */
  public URI captureUri() {
    String base = host.toString();
    while (base.endsWith("/")) base = base.substring(0, base.length() - 1);
    return URI.create(base + PostHogClient.CAPTURE_PATH);
  }

  /**
   * Backoff before attempt {@code failedAttempts + 1}: initial × 2^(failedAttempts − 1), capped.
   */
  public Duration backoffAfter(int failedAttempts) {
    long cap = Math.max(MAX_BACKOFF.toMillis(), initialBackoff.toMillis());
    long ms = initialBackoff.toMillis();
    for (int i = 1; i < failedAttempts && ms < cap; i++) ms = Math.min(cap, ms * 2);
    return Duration.ofMillis(Math.min(ms, cap));
  }

  /** Never prints the key. */
  @Override
  public String toString() {
    return "PostHogSettings[enabled="
        + enabled()
        + ", host="
        + host
        + ", timeout="
        + timeout
        + ", maxAttempts="
        + maxAttempts
        + ", initialBackoff="
        + initialBackoff
        + "]";
  }
}
