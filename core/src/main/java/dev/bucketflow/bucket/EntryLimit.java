package dev.bucketflow.bucket;

import java.util.Optional;

/**
 * Gates the emission of join transitions (never the membership row itself), DESIGN §7. JSON
 * spelling is lower snake case.
 */
public enum EntryLimit {
  UNLIMITED,
  ONCE,
  ONCE_PER_PERIOD;

  /** The JSON spelling, e.g. {@code not_exists}. */
  public String json() {
    return JsonNames.of(this);
  }

  /**
   * Parses the exact JSON spelling; empty for anything else (callers turn that into a {@link
   * Problem}).
   */
  public static Optional<EntryLimit> fromJson(String json) {
    return JsonNames.lookup(values(), json);
  }
}
