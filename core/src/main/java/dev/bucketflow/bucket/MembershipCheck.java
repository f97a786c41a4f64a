package dev.bucketflow.bucket;

import java.util.Optional;

/**
 * What a bucket condition checks: membership ({@code member}) or its absence ({@code not_member}).
 */
public enum MembershipCheck {
  MEMBER,
  NOT_MEMBER;

  /** The JSON spelling, e.g. {@code not_member}. */
  public String json() {
    return JsonNames.of(this);
  }

  /**
   * Parses the exact JSON spelling; empty for anything else (callers turn that into a {@link
   * Problem}).
   */
  public static Optional<MembershipCheck> fromJson(String json) {
    return JsonNames.lookup(values(), json);
  }
}
