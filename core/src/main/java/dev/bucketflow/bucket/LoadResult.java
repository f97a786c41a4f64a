package dev.bucketflow.bucket;

import java.util.List;

/**
 * Outcome of parsing or loading definitions. {@code buckets} holds every definition that could be
 * built (a definition with a structural problem is left out); the worker must refuse to start
 * unless {@link #ok()}.
 */
public record LoadResult(List<BucketDefinition> buckets, List<Problem> problems) {
  public LoadResult {
    buckets = List.copyOf(buckets);
    problems = List.copyOf(problems);
  }

  public boolean ok() {
    return problems.isEmpty();
  }
}
