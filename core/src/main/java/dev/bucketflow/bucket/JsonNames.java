package dev.bucketflow.bucket;

import java.util.Locale;
import java.util.Optional;

/**
 * Shared spelling rule for every enum that appears in bucket JSON: lower snake case of the constant
 * name.
 */
public final class JsonNames {
  private JsonNames() {}

  public static String of(Enum<?> constant) {
    return constant.name().toLowerCase(Locale.ROOT);
  }

  /**
   * Exact, case-sensitive match: a definition file has one canonical spelling, so typos surface as
   * problems.
   */
  static <E extends Enum<E>> Optional<E> lookup(E[] values, String json) {
    if (json == null) {
      return Optional.empty();
    }
    for (E value : values) {
      if (of(value).equals(json)) {
        return Optional.of(value);
      }
    }
    return Optional.empty();
  }

  /**
   * The constant spelled {@code stored}; throws naming the expected spellings, for values that only
   * this code writes.
   */
  public static <E extends Enum<E>> E parse(E[] values, String stored) {
    return lookup(values, stored)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    values[0].getDeclaringClass().getSimpleName()
                        + ": expected "
                        + expected(values)
                        + ", got '"
                        + stored
                        + "'"));
  }

  static <E extends Enum<E>> String expected(E[] values) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < values.length; i++) {
      if (i > 0) {
        sb.append(i == values.length - 1 ? " or " : ", ");
      }
      sb.append(of(values[i]));
    }
    return sb.toString();
  }
}
