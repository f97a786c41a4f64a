package dev.bucketflow.membership;

import java.time.Instant;

/** How often a user entered a bucket before, and when they last left: the entryLimit inputs. */
public record MembershipHistory(int entries, Instant lastLeftAt) {

  public static final MembershipHistory NONE = new MembershipHistory(0, null);

  MembershipHistory joined() {
    return new MembershipHistory(entries + 1, lastLeftAt);
  }

  MembershipHistory left(Instant at) {
    return new MembershipHistory(entries, at);
  }
}
