package dev.bucketflow.journeys;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * The one argument every journey workflow receives, in any SDK: which journey (one workflow type
 * may serve several), whose, which entry, the triggering event and the journey's settings.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record JourneyInput(
    String journeyId,
    String userId,
    int entryCount,
    String triggerEvent,
    JsonNode eventProperties,
    JsonNode settings) {}
