package dev.bucketflow.bucket;

import java.util.Optional;

/** How a composite condition combines its children. JSON spelling is lower snake case. */
public enum Logic {
  AND,
  OR;

  /** The JSON spelling, e.g. {@code not_exists}. */
  public String json() {
    return JsonNames.of(this);
  }

  /**
   * Parses the exact JSON spelling; empty for anything else (callers turn that into a {@link
   * Problem}).
   */
  public static Optional<Logic> fromJson(String json) {
    return JsonNames.lookup(values(), json);
  }
}
