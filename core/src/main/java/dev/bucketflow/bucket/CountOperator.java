package dev.bucketflow.bucket;

import java.util.Optional;

/** Comparison of an event count against a threshold. JSON spelling is lower case. */
public enum CountOperator {
  GT,
  GTE,
  LT,
  LTE,
  EQ;

  public String json() {
    return JsonNames.of(this);
  }

  public static Optional<CountOperator> fromJson(String json) {
    return JsonNames.lookup(values(), json);
  }

  /** {@code count <op> value}. */
  public boolean test(long count, long value) {
    return switch (this) {
      case GT -> count > value;
      case GTE -> count >= value;
      case LT -> count < value;
      case LTE -> count <= value;
      case EQ -> count == value;
    };
  }
}
