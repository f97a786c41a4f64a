package dev.bucketflow.backfill;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.bucketflow.bucket.BackfillKind;

/**
 * Input of a backfill workflow, and what it carries over a continue-as-new (the cursor lives in the
 * job row, so nothing else is needed).
 *
 * @param kind used only when the job row is created — an existing row keeps its own kind
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record BackfillRequest(String bucketId, String criteriaHash, BackfillKind kind) {

  public static BackfillRequest of(String bucketId, String criteriaHash, BackfillKind kind) {
    return new BackfillRequest(bucketId, criteriaHash, kind);
  }
}
