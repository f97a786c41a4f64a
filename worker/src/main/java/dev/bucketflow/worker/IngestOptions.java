package dev.bucketflow.worker;

import dev.bucketflow.ingest.IngestSettings;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import picocli.CommandLine.Option;

/** Input limits of the ingest path that an operator may tune. */
public final class IngestOptions {

  @Option(
      names = "--max-future-skew",
      defaultValue = "${env:BUCKETFLOW_MAX_FUTURE_SKEW:-PT5M}",
      description =
          "How far past its receipt an event's occurredAt may lie: ISO-8601 (PT5M) or seconds "
              + "(env BUCKETFLOW_MAX_FUTURE_SKEW, default ${DEFAULT-VALUE}).")
  String maxFutureSkew;

  @Option(
      names = "--max-payload-bytes",
      defaultValue =
          "${env:BUCKETFLOW_MAX_PAYLOAD_BYTES:-" + IngestSettings.DEFAULT_PAYLOAD_BYTES + "}",
      description =
          "Byte budget of every ingest activity input and continue-as-new input "
              + "(env BUCKETFLOW_MAX_PAYLOAD_BYTES, default ${DEFAULT-VALUE}; Temporal refuses payloads over 2 MB).")
  int maxPayloadBytes;

  Duration futureSkew() {
    return parseSkew(maxFutureSkew);
  }

  IngestSettings settings() {
    IngestSettings d = IngestSettings.DEFAULTS;
    return new IngestSettings(d.maxBatchSize(), d.continueAsNewAfter(), maxPayloadBytes);
  }

  static Duration parseSkew(String text) {
    String t = text == null ? "" : text.trim();
    Duration d;
    try {
      d = dev.bucketflow.bucket.Durations.ofSetting(t);
    } catch (DateTimeParseException | NumberFormatException e) {
      throw new IllegalArgumentException(
          "BUCKETFLOW_MAX_FUTURE_SKEW: '"
              + text
              + "' is not an ISO-8601 duration (PT5M) or a number of seconds");
    }
    if (d.isNegative())
      throw new IllegalArgumentException("BUCKETFLOW_MAX_FUTURE_SKEW: must not be negative");
    return d;
  }
}
