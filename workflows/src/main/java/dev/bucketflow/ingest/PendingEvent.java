package dev.bucketflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;

/** A signalled event and the workflow time it was received, the default for {@code occurredAt}. */
public record PendingEvent(JsonNode payload, long receivedAtMillis) {}
