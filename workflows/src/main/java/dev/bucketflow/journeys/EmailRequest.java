package dev.bucketflow.journeys;

/** An email a journey sends; {@code idempotencyKey} makes a retried send write once. */
public record EmailRequest(
    String journeyId, String userId, String template, String idempotencyKey) {}
