package dev.bucketflow.dispatch;

import java.time.Instant;
import org.jooq.Field;
import org.jooq.Table;

/**
 * The delivery columns every outbox table shares (migration V4): which rows are pending, whose they
 * are, and their retry state. One set of queries serves every outbox.
 */
public record OutboxTable(
    Table<?> table,
    Field<Long> id,
    Field<String> userId,
    Field<Integer> shard,
    Field<Instant> dispatchedAt,
    Field<Integer> attempts,
    Field<Instant> nextAttemptAt,
    Field<String> lastError,
    Field<Instant> parkedAt) {}
