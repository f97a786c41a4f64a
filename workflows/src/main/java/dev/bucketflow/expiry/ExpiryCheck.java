package dev.bucketflow.expiry;

/** Outcome of a leave-or-extend: the member left, got a later deadline, or is no longer watched. */
public record ExpiryCheck(Status status, Long nextDeadlineMillis) {

  public enum Status {
    LEFT,
    EXTENDED,
    GONE
  }

  public static ExpiryCheck left() {
    return new ExpiryCheck(Status.LEFT, null);
  }

  public static ExpiryCheck gone() {
    return new ExpiryCheck(Status.GONE, null);
  }

  public static ExpiryCheck extended(long deadlineMillis) {
    return new ExpiryCheck(Status.EXTENDED, deadlineMillis);
  }
}
