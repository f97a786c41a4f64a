package dev.bucketflow.reconcile;

/** Input of one bounded part of a bucket's sweep: the bucket and where the part starts. */
public record SweepStep(String bucketId, SweepCursor from) {}
