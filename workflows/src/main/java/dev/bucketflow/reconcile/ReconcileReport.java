package dev.bucketflow.reconcile;

import java.util.List;

/** Result of a reconcile run: per-bucket counts and outbox rows re-dispatched. */
public record ReconcileReport(List<BucketSweep> buckets, int redispatched) {}
