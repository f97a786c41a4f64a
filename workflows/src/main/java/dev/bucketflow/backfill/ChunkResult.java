package dev.bucketflow.backfill;

/**
 * What one chunk did: the job's running {@code processed} / {@code totals} after it, the joins and
 * leaves this chunk made, and whether the walk is over (the workflow then completes the job).
 */
public record ChunkResult(long processed, long totals, int joined, int left, boolean done) {}
