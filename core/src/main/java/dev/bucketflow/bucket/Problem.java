package dev.bucketflow.bucket;

/**
 * One load or validation problem. {@code path} locates it in the JSON, e.g. {@code
 * went-dormant.criteria.conditions[1].eventName}, so a user can fix every problem in one pass.
 */
public record Problem(String path, String message) {
  @Override
  public String toString() {
    return path + ": " + message;
  }
}
