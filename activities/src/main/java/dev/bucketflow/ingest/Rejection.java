package dev.bucketflow.ingest;

/**
 * A refused event: {@code reason} is a stable code ({@link EventParser} lists them), {@code detail}
 * names the field and why, for people.
 */
public record Rejection(
    String reason, String detail, String userId, String event, String payload) {}
