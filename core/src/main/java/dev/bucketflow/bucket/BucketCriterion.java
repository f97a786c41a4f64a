package dev.bucketflow.bucket;

import java.util.Objects;

/**
 * {@code {"type":"bucket","bucketId":"power-users","check":"member"}}: true while the user is an
 * active member of the other bucket ({@code not_member}: while not). It has no clock of its own —
 * the other bucket's transitions re-evaluate this bucket in the same transaction (DESIGN §13).
 * {@code not_member} is negative: like {@code not_exists}, it needs a positive sibling.
 */
public record BucketCriterion(String bucketId, MembershipCheck check) implements Criterion {

  public BucketCriterion {
    Objects.requireNonNull(bucketId, "bucketId");
    Objects.requireNonNull(check, "check");
  }

  public boolean holdsFor(boolean member) {
    return check == MembershipCheck.MEMBER ? member : !member;
  }
}
