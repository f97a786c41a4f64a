package dev.bucketflow.bucket;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The load-time rules of DESIGN §6, applied to parsed and builder-made definitions alike. Every
 * problem is reported (never just the first), each with a JSON path rooted at the bucket id.
 */
public final class BucketValidator {
    /** Ids end up in workflow ids, idempotency keys and event names, so keep them URL- and log-safe. */
    public static final Pattern ID_PATTERN = Pattern.compile("^[a-z0-9][a-z0-9-]{0,62}$");
    public static final String RESERVED_EVENT_PREFIX = "bucket:";

    private BucketValidator() {}

    public static List<Problem> validate(List<BucketDefinition> definitions) {
        List<Problem> problems = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (BucketDefinition d : definitions) {
            validate(d, seen, problems);
        }
        return List.copyOf(problems);
    }

    private static void validate(BucketDefinition d, Set<String> seen, List<Problem> out) {
        String p = d.id();
        // Rule 5: ids are slugs and unique.
        if (!ID_PATTERN.matcher(d.id()).matches()) {
            out.add(new Problem(p + ".id", "must be a slug: lower-case letters, digits and '-', "
                    + "starting with a letter or digit, at most 63 characters"));
        }
        if (!seen.add(d.id())) {
            out.add(new Problem(p + ".id", "duplicate id"));
        }
        // Rule 1: dynamic needs criteria, manual has none.
        if (d.kind() == BucketKind.DYNAMIC && d.criteria() == null) {
            out.add(new Problem(p + ".criteria", "a dynamic bucket needs criteria"));
        }
        if (d.kind() == BucketKind.MANUAL && d.criteria() != null) {
            out.add(new Problem(p + ".criteria", "a manual bucket must not have criteria"));
        }
        if (d.criteria() != null) {
            // Rules 3 and 4, leaf by leaf.
            checkCriterion(d.criteria(), p + ".criteria", out);
            // Rule 2: something must have to be present for a user to qualify.
            if (d.kind() == BucketKind.DYNAMIC && !anchored(d.criteria())) {
                out.add(new Problem(p + ".criteria", "needs a positive condition that every match "
                        + "depends on (an event that happened, a windowed not_exists, or a property "
                        + "that exists or matches); neq, property not_exists and not_exists without "
                        + "within cannot qualify a user on their own"));
            }
        }
        // Rule 5: durations and dwell bounds.
        nonNegative(d.entryPeriod(), p + ".entryPeriod", out);
        nonNegative(d.minDwell(), p + ".minDwell", out);
        nonNegative(d.maxDwell(), p + ".maxDwell", out);
        if (d.minDwell() != null && d.maxDwell() != null && d.maxDwell().compareTo(d.minDwell()) < 0) {
            out.add(new Problem(p + ".maxDwell", "maxDwell (" + d.maxDwell()
                    + ") must be at least minDwell (" + d.minDwell() + ")"));
        }
        // Rule 5: fast expiry sleeps until a window edge, so there must be one.
        if (d.fastExpiry() && (d.criteria() == null || d.criteria().walk()
                .noneMatch(c -> c instanceof EventCriterion e && e.windowed()))) {
            out.add(new Problem(p + ".fastExpiry", "fastExpiry needs an event condition with a within window"));
        }
    }

    /** Per-node checks (rules 3 and 4 and operand shapes). The one dispatch over node types for validation. */
    private static void checkCriterion(Criterion c, String path, List<Problem> out) {
        if (c instanceof PropertyCriterion p) {
            checkProperty(p, path, out);
        } else if (c instanceof EventCriterion e) {
            checkEvent(e, path, out);
        } else if (c instanceof CompositeCriterion comp) {
            if (comp.conditions().isEmpty()) {
                out.add(new Problem(path + ".conditions", "an empty " + comp.operator().json() + " composite is not allowed"));
            }
            for (int i = 0; i < comp.conditions().size(); i++) {
                checkCriterion(comp.conditions().get(i), path + ".conditions[" + i + "]", out);
            }
        }
    }

    private static void checkProperty(PropertyCriterion p, String path, List<Problem> out) {
        if (p.property().isEmpty()) {
            out.add(new Problem(path + ".property", "must not be empty"));
        }
        String op = p.operator().json();
        switch (p.operator()) {
            case EXISTS, NOT_EXISTS -> {
                if (p.value() != null) {
                    out.add(new Problem(path + ".value", op + " takes no value"));
                }
            }
            case EQ, NEQ -> {
                if (p.value() == null) {
                    out.add(new Problem(path + ".value", op + " needs a value (use null to compare with JSON null)"));
                }
            }
            case GT, GTE, LT, LTE -> {
                // A non-number operand could never match (numbers compare numbers only).
                if (p.value() == null || !p.value().isNumber()) {
                    out.add(new Problem(path + ".value", op + " compares numbers only; value must be a number"));
                }
            }
            case CONTAINS -> {
                if (p.value() == null || !p.value().isTextual()) {
                    out.add(new Problem(path + ".value", "contains needs a string value"));
                }
            }
        }
    }

    private static void checkEvent(EventCriterion e, String path, List<Problem> out) {
        if (e.eventName().isEmpty()) {
            out.add(new Problem(path + ".eventName", "must not be empty"));
        }
        if (e.eventName().startsWith(RESERVED_EVENT_PREFIX)) {
            out.add(new Problem(path + ".eventName", "event names starting with \"bucket:\" are "
                    + "reserved for transitions and cannot be used in criteria"));
        }
        if (e.check() == EventCheck.COUNT) {
            if (e.operator() != null && (e.value() == null || e.value() < 0)) {
                out.add(new Problem(path + ".value", "count " + e.operator().json()
                        + " needs a non-negative integer value"));
            }
            if (e.operator() == null && e.value() != null) {
                out.add(new Problem(path + ".operator", "a count value needs an operator (gt, gte, lt, lte or eq)"));
            }
        } else {
            if (e.operator() != null) {
                out.add(new Problem(path + ".operator", "operator only applies to check count"));
            }
            if (e.value() != null) {
                out.add(new Problem(path + ".value", "value only applies to check count"));
            }
        }
        if (e.within() != null && (e.within().isNegative() || e.within().isZero())) {
            out.add(new Problem(path + ".within", "within must be a positive duration"));
        }
    }

    /**
     * Rule 2, read as "no match without a positive leaf": an AND is anchored by any anchored child,
     * an OR only when every branch is (else the unanchored branch matches users on its own).
     * Empty composites are reported separately, so they count as anchored to avoid a second
     * problem for the same mistake.
     */
    static boolean anchored(Criterion c) {
        if (c instanceof PropertyCriterion p) {
            return p.operator() != PropertyOperator.NEQ && p.operator() != PropertyOperator.NOT_EXISTS;
        }
        if (c instanceof EventCriterion e) {
            return switch (e.check()) {
                case EXISTS -> true;
                case NOT_EXISTS -> e.windowed();
                // A count is positive only when it needs at least one occurrence.
                case COUNT -> e.operator() == null || e.value() == null || switch (e.operator()) {
                    case GT -> e.value() >= 0;
                    case GTE, EQ -> e.value() >= 1;
                    case LT, LTE -> false;
                };
            };
        }
        CompositeCriterion comp = (CompositeCriterion) c;
        if (comp.conditions().isEmpty()) {
            return true;
        }
        return comp.operator() == Logic.AND
                ? comp.conditions().stream().anyMatch(BucketValidator::anchored)
                : comp.conditions().stream().allMatch(BucketValidator::anchored);
    }

    private static void nonNegative(Duration d, String path, List<Problem> out) {
        if (d != null && d.isNegative()) {
            out.add(new Problem(path, "must not be negative"));
        }
    }
}
