package dev.bucketflow.bucket;

import java.util.List;
import java.util.Objects;

/** AND / OR over child conditions, nested freely. Empty composites are rejected by validation. */
public record CompositeCriterion(Logic operator, List<Criterion> conditions) implements Criterion {

  public CompositeCriterion {
    Objects.requireNonNull(operator, "operator");
    conditions = List.copyOf(conditions);
  }

  @Override
  public List<Criterion> children() {
    return conditions;
  }
}
