package dev.bucketflow.bucket;

import java.util.List;
import java.util.stream.Stream;

/**
 * A node of a bucket's criteria tree (DESIGN §6). The tree is closed so every operation
 * (evaluation, deadline math, validation, JSON) can be exhaustive over the four shapes.
 */
public sealed interface Criterion
    permits PropertyCriterion, EventCriterion, BucketCriterion, CompositeCriterion {

  /** Direct children; leaves have none. */
  default List<Criterion> children() {
    return List.of();
  }

  /** This node and all its descendants, depth-first, pre-order. */
  default Stream<Criterion> walk() {
    return Stream.concat(Stream.of(this), children().stream().flatMap(Criterion::walk));
  }
}
