package dev.bucketflow.journeys;

import dev.bucketflow.journey.JourneyStatus;

/** How a journey run ended: {@code completed} or {@code exited} (with the exit reason). */
public record JourneyEnd(
    String journeyId, String userId, int entryCount, JourneyStatus status, String reason) {}
