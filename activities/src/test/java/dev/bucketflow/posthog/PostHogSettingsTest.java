package dev.bucketflow.posthog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PostHogSettingsTest {

  @Test
  void withoutAKeyTheMirrorIsOffAndTheHostDefaultsToUsCloud() {
    PostHogSettings s = PostHogSettings.fromEnv(Map.of());
    assertThat(s.enabled()).isFalse();
    assertThat(s.host()).isEqualTo(URI.create("https://us.i.posthog.com"));
    assertThat(s.captureUri()).isEqualTo(URI.create("https://us.i.posthog.com/i/v0/e/"));
    assertThat(PostHogSettings.fromEnv(Map.of("POSTHOG_API_KEY", "   ")).enabled()).isFalse();
    assertThat(PostHogSettings.disabled().enabled()).isFalse();
  }

  @Test
  void keyAndHostComeFromTheEnvironment() {
    PostHogSettings s =
        PostHogSettings.fromEnv(
            Map.of("POSTHOG_API_KEY", "phc_abc", "POSTHOG_HOST", "https://eu.i.posthog.com/"));
    assertThat(s.enabled()).isTrue();
    assertThat(s.apiKey()).isEqualTo("phc_abc");
    assertThat(s.captureUri()).isEqualTo(URI.create("https://eu.i.posthog.com/i/v0/e/"));
    assertThat(
            PostHogSettings.fromEnv(Map.of("POSTHOG_HOST", "https://ph.example.com/ingest"))
                .captureUri())
        .isEqualTo(URI.create("https://ph.example.com/ingest/i/v0/e/"));
  }

  @Test
  void aBadHostIsABootErrorNamingTheVariable() {
    assertThatThrownBy(() -> PostHogSettings.fromEnv(Map.of("POSTHOG_HOST", "us.i.posthog.com")))
        .hasMessageContaining("POSTHOG_HOST");
    assertThatThrownBy(() -> PostHogSettings.fromEnv(Map.of("POSTHOG_HOST", "ftp://x.example.com")))
        .hasMessageContaining("POSTHOG_HOST");
    assertThatThrownBy(() -> PostHogSettings.fromEnv(Map.of("POSTHOG_HOST", "http://bad host")))
        .hasMessageContaining("POSTHOG_HOST");
  }

  @Test
  void backoffDoublesAndIsCapped() {
    PostHogSettings s =
        new PostHogSettings("k", null, Duration.ofSeconds(1), 50, Duration.ofSeconds(1));
    assertThat(s.backoffAfter(1)).isEqualTo(Duration.ofSeconds(1));
    assertThat(s.backoffAfter(2)).isEqualTo(Duration.ofSeconds(2));
    assertThat(s.backoffAfter(3)).isEqualTo(Duration.ofSeconds(4));
    assertThat(s.backoffAfter(40)).isEqualTo(PostHogSettings.MAX_BACKOFF);
    PostHogSettings slow =
        new PostHogSettings("k", null, Duration.ofSeconds(1), 5, Duration.ofMinutes(3));
    assertThat(slow.backoffAfter(4)).isEqualTo(Duration.ofMinutes(3));
  }

  @Test
  void invalidRetrySettingsAreRejected() {
    assertThatThrownBy(
            () -> new PostHogSettings("k", null, Duration.ofSeconds(1), 0, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new PostHogSettings("k", null, Duration.ZERO, 1, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void toStringNeverShowsTheKey() {
    assertThat(PostHogSettings.fromEnv(Map.of("POSTHOG_API_KEY", "phc_secret")).toString())
        .doesNotContain("phc_secret")
        .contains("enabled=true");
  }

  @Test
  void bodiesFollowTheDocumentedCaptureShape() {
    Instant at = Instant.parse("2026-11-01T00:00:00Z");
    assertThat(PostHogClient.setBody("phc", "u1", "hogsend_bucket_x", at).toString())
        .isEqualTo(
            "{\"api_key\":\"phc\",\"event\":\"$set\",\"distinct_id\":\"u1\",\"timestamp\":\"2026-11-01T00:00:00Z\","
                + "\"properties\":{\"$set\":{\"hogsend_bucket_x\":true}}}");
    assertThat(PostHogClient.unsetBody("phc", "u1", "hogsend_bucket_x", at).toString())
        .isEqualTo(
            "{\"api_key\":\"phc\",\"event\":\"$set\",\"distinct_id\":\"u1\",\"timestamp\":\"2026-11-01T00:00:00Z\","
                + "\"properties\":{\"$unset\":[\"hogsend_bucket_x\"]}}");
  }
}
