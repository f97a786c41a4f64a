package dev.bucketflow.event;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;

/** An event that passed validation, with defaults applied. */
public record IncomingEvent(
    String userId,
    String event,
    ObjectNode properties,
    String email,
    Instant occurredAt,
    Instant receivedAt,
    String idempotencyKey) {}
