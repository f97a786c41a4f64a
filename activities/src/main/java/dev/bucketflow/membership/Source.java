package dev.bucketflow.membership;

/** Why a membership changed; stored in {@code bucket_memberships.source} and transitions. */
public enum Source {
  EVENT, RECONCILE, BACKFILL, EXPIRY, MANUAL;

  public String db() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
