package dev.bucketflow.event;

import java.util.List;

/**
 * What one pass of event-storage maintenance did (see {@code EventPartitions}).
 *
 * @param created day partitions of {@code user_events} created (ahead, or to take rows the default
 *     partition held)
 * @param dropped partitions dropped whole because all of their range is past the retention
 * @param movedRows rows moved from the default partition into a day partition created for them
 * @param strayRowsDeleted rows of the default partition past the retention (events that arrived
 *     dated before every kept partition), deleted
 * @param keysPruned idempotency keys received before the retention cutoff, deleted
 * @param skipped steps that could not take their lock in time (left for the next pass)
 */
public record StorageMaintenance(
    List<String> created,
    List<String> dropped,
    long movedRows,
    long strayRowsDeleted,
    long keysPruned,
    List<String> skipped) {}
