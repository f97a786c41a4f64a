package dev.bucketflow.posthog;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.db.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * A minimal client of PostHog's public capture API, used only to set and unset one person property.
 *
 * <p><b>Endpoint.</b> {@code POST <host>/i/v0/e/} with {@code Content-Type: application/json}.
 * PostHog's API docs ("POST-only public endpoints",
 * https://posthog.com/docs/api/post-only-endpoints, and the tutorial
 * https://posthog.com/tutorials/api-capture-events) name {@code /i/v0/e/} as the single-event
 * capture endpoint ("the main way to send events ... also used to ... update person or group
 * properties"), authenticated by the write-only project API key in the body. The older {@code
 * /capture/} path is still shown on some pages (e.g. the API installation page), but {@code
 * /i/v0/e/} is the one the API reference documents today. {@code /batch/} is not used: one
 * transition is one request, so a failure is retried for exactly that transition.
 *
 * <p><b>Body.</b> Every event needs {@code api_key}, {@code event} and {@code distinct_id} at the
 * top level; {@code properties} and {@code timestamp} are optional (same doc). Person properties
 * are changed by the {@code $set} / {@code $unset} keys inside {@code properties}; the
 * person-properties doc (https://posthog.com/docs/product-analytics/person-properties, "How to set
 * person properties" / "How to remove person properties") recommends the dedicated {@code $set}
 * event for setting and says {@code $unset} — an <em>array of property keys</em> — works "with any
 * event". Both bodies therefore use the {@code $set} event name (there is no documented {@code
 * $unset} event; a custom event of that name would show up as an ordinary analytics event):
 *
 * <pre>{@code
 * join:  {"api_key":"phc_..","event":"$set","distinct_id":"<userId>",
 *         "properties":{"$set":{"<key>":true}},"timestamp":"<transition time>"}
 * leave: {"api_key":"phc_..","event":"$set","distinct_id":"<userId>",
 *         "properties":{"$unset":["<key>"]},"timestamp":"<transition time>"}
 * }</pre>
 *
 * PostHog applies person-property updates in ingestion order, not by {@code timestamp} (same doc,
 * "Note: Person properties are set in the order the events are ingested"); the timestamp only dates
 * the event. Ordering is therefore the caller's job ({@link PostHogMirror} sends only the newest
 * state per key).
 *
 * <p>Any non-2xx answer or I/O error is a failure ({@link CaptureFailed} / {@link IOException}).
 */
public final class PostHogClient {

  public static final String CAPTURE_PATH = "/i/v0/e/";

  /** The event name carrying person-property updates, for joins and leaves alike. */
  public static final String PERSON_UPDATE_EVENT = "$set";

  private final PostHogSettings settings;
  private final HttpClient http;
  private final URI endpoint;

  public PostHogClient(PostHogSettings settings) {
    this(
        settings,
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(settings.timeout())
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build());
  }

  PostHogClient(PostHogSettings settings, HttpClient http) {
    if (!settings.enabled())
      throw new IllegalArgumentException("PostHog client needs " + PostHogSettings.API_KEY_ENV);
    this.settings = settings;
    this.http = http;
    this.endpoint = settings.captureUri();
  }

  public URI endpoint() {
    return endpoint;
  }

  /** Sets person property {@code key} to {@code true} on {@code distinctId}. */
  public void setProperty(String distinctId, String key, Instant timestamp)
      throws IOException, InterruptedException {
    send(setBody(settings.apiKey(), distinctId, key, timestamp));
  }

  /**
   * Removes person property {@code key} from {@code distinctId}; the event says why the member
   * left.
   */
  public void unsetProperty(
      String distinctId, String key, Instant timestamp, Optional<LeaveReason> reason)
      throws IOException, InterruptedException {
    ObjectNode body = unsetBody(settings.apiKey(), distinctId, key, timestamp);
    reason.ifPresent(r -> ((ObjectNode) body.get("properties")).put("reason", r.db()));
    send(body);
  }

  /** The join body: {@code properties.$set = {key: true}}. */
  public static ObjectNode setBody(
      String apiKey, String distinctId, String key, Instant timestamp) {
    ObjectNode body = envelope(apiKey, distinctId, timestamp);
    body.putObject("properties").putObject("$set").put(key, true);
    return body;
  }

  /** The leave body: {@code properties.$unset = [key]}. */
  public static ObjectNode unsetBody(
      String apiKey, String distinctId, String key, Instant timestamp) {
    ObjectNode body = envelope(apiKey, distinctId, timestamp);
    body.putObject("properties").putArray("$unset").add(key);
    return body;
  }

  private static ObjectNode envelope(String apiKey, String distinctId, Instant timestamp) {
    Objects.requireNonNull(distinctId, "distinctId");
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("api_key", apiKey);
    body.put("event", PERSON_UPDATE_EVENT);
    body.put("distinct_id", distinctId);
    if (timestamp != null) body.put("timestamp", timestamp.toString());
    return body;
  }

  void send(ObjectNode body) throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(endpoint)
            .timeout(settings.timeout())
            .header("Content-Type", "application/json")
            .header("User-Agent", "bucketflow-posthog-mirror")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8))
            .build();
    HttpResponse<String> response =
        http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    int status = response.statusCode();
    if (status < 200 || status > 299) throw new CaptureFailed(status, response.body());
  }

  /** PostHog answered with a non-2xx status. The message never contains the API key. */
  public static final class CaptureFailed extends IOException {

    private final int status;

    CaptureFailed(int status, String responseBody) {
      super("PostHog capture answered HTTP " + status + abbreviate(responseBody));
      this.status = status;
    }

    public int status() {
      return status;
    }

    private static String abbreviate(String body) {
      if (body == null || body.isBlank()) return "";
      String oneLine = body.strip().replaceAll("\\s+", " ");
      return ": " + (oneLine.length() > 200 ? oneLine.substring(0, 200) + "…" : oneLine);
    }
  }
}
