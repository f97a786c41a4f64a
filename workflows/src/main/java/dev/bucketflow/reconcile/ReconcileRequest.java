package dev.bucketflow.reconcile;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * Input of a reconcile run: one bucket, or every time-based bucket when {@code bucketId} is null.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ReconcileRequest(String bucketId) {

  public static ReconcileRequest all() {
    return new ReconcileRequest(null);
  }
}
