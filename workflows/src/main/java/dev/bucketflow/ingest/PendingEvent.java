package dev.bucketflow.ingest;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * A signalled item and the workflow time it was received (the default {@code occurredAt}).
 * {@code op} is null for an event, else the contact operation signalled: {@code deleteContact},
 * {@code addToBucket} or {@code removeFromBucket}. Operations travel in the same ordered stream
 * as events, so a user's deletion or manual change applies exactly between their events.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record PendingEvent(JsonNode payload, long receivedAtMillis, String op) {

  public static final String DELETE_CONTACT = "deleteContact";
  public static final String ADD_TO_BUCKET = "addToBucket";
  public static final String REMOVE_FROM_BUCKET = "removeFromBucket";

  public PendingEvent(JsonNode payload, long receivedAtMillis) {
    this(payload, receivedAtMillis, null);
  }

  @JsonIgnore // not part of the payload: derived from op
  public boolean isEvent() {
    return op == null;
  }
}
