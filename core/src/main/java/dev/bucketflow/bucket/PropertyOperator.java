package dev.bucketflow.bucket;

import java.util.Optional;

/** Operator of a property condition. JSON spelling is lower snake case. */
public enum PropertyOperator {
    EQ, NEQ, GT, GTE, LT, LTE, EXISTS, NOT_EXISTS, CONTAINS;

    /** The JSON spelling, e.g. {@code not_exists}. */
    public String json() {
        return JsonNames.of(this);
    }

    /** Parses the exact JSON spelling; empty for anything else (callers turn that into a {@link Problem}). */
    public static Optional<PropertyOperator> fromJson(String json) {
        return JsonNames.lookup(values(), json);
    }
}
