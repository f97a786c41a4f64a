package dev.bucketflow.journeys;

/** How a journey run ended: {@code completed} or {@code exited} (with the exit reason). */
public record JourneyEnd(String journeyId, String userId, int entryCount, String status, String reason) {}
