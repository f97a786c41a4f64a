package dev.bucketflow.bucket;

import java.util.Optional;

/**
 * Dynamic buckets follow their criteria; manual buckets are joined and left explicitly. JSON
 * spelling is lower snake case.
 */
public enum BucketKind {
  DYNAMIC,
  MANUAL;

  /** The JSON spelling, e.g. {@code not_exists}. */
  public String json() {
    return JsonNames.of(this);
  }

  /**
   * Parses the exact JSON spelling; empty for anything else (callers turn that into a {@link
   * Problem}).
   */
  public static Optional<BucketKind> fromJson(String json) {
    return JsonNames.lookup(values(), json);
  }
}
