package dev.bucketflow.bucket;

import dev.bucketflow.bucket.DefinitionReader.Draft;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The load-time rules of DESIGN §6, applied to parsed and builder-made definitions alike. Every
 * problem is reported (never just the first), each with a JSON path rooted at the bucket id.
 *
 * <p>Parsed definitions arrive as {@link Draft}s, which may have gaps (parts that did not parse,
 * already reported). A rule runs on whatever parsed; a rule whose answer depends on a gap is
 * skipped, or reads the gap as the benign case, so a parse problem never causes a second, made-up
 * one.
 */
public final class BucketValidator {
  /**
   * Ids end up in workflow ids, idempotency keys and event names, so keep them URL- and log-safe.
   */
  public static final Pattern ID_PATTERN = Pattern.compile("^[a-z0-9][a-z0-9-]{0,62}$");

  public static final String RESERVED_EVENT_PREFIX = "bucket:";

  private BucketValidator() {}

  public static List<Problem> validate(List<BucketDefinition> definitions) {
    return validateDrafts(definitions.stream().map(Draft::whole).toList());
  }

  /** {@link #validate} over parsed drafts, gaps and all (see class doc). */
  static List<Problem> validateDrafts(List<Draft<BucketDefinition>> drafts) {
    List<Problem> problems = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Draft<BucketDefinition> d : drafts) {
      validate(d.definition(), d, seen, problems);
    }
    bucketReferences(drafts, seen, problems);
    return List.copyOf(problems);
  }

  /**
   * Set-level rules of bucket conditions: each names a bucket of the set and not its own, and the
   * references form no cycle (reported once per cycle, with its path, at the first bucket on it in
   * id order). A cycle would have dependents re-evaluate each other for ever.
   */
  private static void bucketReferences(
      List<Draft<BucketDefinition>> drafts, Set<String> ids, List<Problem> out) {
    java.util.Map<String, Set<String>> edges = new java.util.TreeMap<>();
    for (Draft<BucketDefinition> g : drafts) {
      BucketDefinition d = g.definition();
      if (d.criteria() == null) continue;
      Set<String> refs = new java.util.TreeSet<>();
      forEachBucketCondition(
          d.criteria(),
          d.id() + ".criteria",
          g,
          (b, path) -> {
            if (b.bucketId().equals(d.id())) {
              out.add(
                  new Problem(path + ".bucketId", "a bucket cannot depend on its own membership"));
            } else if (!ids.contains(b.bucketId())) {
              out.add(new Problem(path + ".bucketId", "unknown bucket '" + b.bucketId() + "'"));
            } else {
              refs.add(b.bucketId());
            }
          });
      edges.merge(
          d.id(),
          refs,
          (a, b) -> {
            a.addAll(b);
            return a;
          });
    }
    Set<String> done = new HashSet<>();
    Set<String> reported = new HashSet<>();
    for (String start : edges.keySet()) {
      findCycle(start, edges, new java.util.ArrayList<>(), done, reported, out);
    }
  }

  private static void findCycle(
      String at,
      java.util.Map<String, Set<String>> edges,
      List<String> stack,
      Set<String> done,
      Set<String> reported,
      List<Problem> out) {
    int onStack = stack.indexOf(at);
    if (onStack >= 0) {
      List<String> cycle = new ArrayList<>(stack.subList(onStack, stack.size()));
      String first = cycle.stream().min(String::compareTo).orElseThrow();
      if (reported.add(new java.util.TreeSet<>(cycle).toString())) {
        // Rotated to start at its smallest id, so the message is stable whatever the walk order.
        int i = cycle.indexOf(first);
        List<String> path = new ArrayList<>(cycle.subList(i, cycle.size()));
        path.addAll(cycle.subList(0, i));
        path.add(first);
        out.add(
            new Problem(
                first + ".criteria",
                "bucket conditions form a cycle: " + String.join(" -> ", path)));
      }
      return;
    }
    if (done.contains(at)) return;
    stack.add(at);
    for (String next : edges.getOrDefault(at, Set.of())) {
      findCycle(next, edges, stack, done, reported, out);
    }
    stack.remove(stack.size() - 1);
    done.add(at);
  }

  private static void forEachBucketCondition(
      Criterion c,
      String path,
      Draft<?> g,
      java.util.function.BiConsumer<BucketCriterion, String> action) {
    if (c instanceof BucketCriterion b) {
      action.accept(b, path);
    } else if (c instanceof CompositeCriterion comp) {
      List<String> paths = childPaths(comp, path, g);
      for (int i = 0; i < comp.conditions().size(); i++) {
        forEachBucketCondition(comp.conditions().get(i), paths.get(i), g, action);
      }
    }
  }

  private static void validate(
      BucketDefinition d, Draft<?> g, Set<String> seen, List<Problem> out) {
    String p = d.id();
    // Rule 5: ids are slugs and unique (a draft without a usable id is named by its file).
    if (!g.gap(p + ".id")) {
      if (!ID_PATTERN.matcher(d.id()).matches()) {
        out.add(
            new Problem(
                p + ".id",
                "must be a slug: lower-case letters, digits and '-', "
                    + "starting with a letter or digit, at most 63 characters"));
      }
      if (!seen.add(d.id())) {
        out.add(new Problem(p + ".id", "duplicate id"));
      }
    }
    // Rule 1: dynamic needs criteria, manual has none. Unparsable criteria were still given.
    boolean kindKnown = !g.gap(p + ".kind");
    boolean hasCriteria = d.criteria() != null || g.gap(p + ".criteria");
    if (kindKnown && d.kind() == BucketKind.DYNAMIC && !hasCriteria) {
      out.add(new Problem(p + ".criteria", "a dynamic bucket needs criteria"));
    }
    if (kindKnown && d.kind() == BucketKind.MANUAL && hasCriteria) {
      out.add(new Problem(p + ".criteria", "a manual bucket must not have criteria"));
    }
    if (d.criteria() != null) {
      // Rules 3 and 4, leaf by leaf.
      checkCriterion(d.criteria(), p + ".criteria", g, out);
      // Rule 2: something must have to be present for a user to qualify.
      if (kindKnown
          && d.kind() == BucketKind.DYNAMIC
          && !anchored(d.criteria(), p + ".criteria", g)) {
        out.add(
            new Problem(
                p + ".criteria",
                "needs a positive condition that every match "
                    + "depends on (an event that happened, a windowed not_exists, a property "
                    + "that exists or matches, or membership of another bucket); neq, property "
                    + "not_exists, not_member and not_exists without within cannot qualify a user "
                    + "on their own"));
      }
    }
    // Rule 5: durations and dwell bounds.
    nonNegative(d.entryPeriod(), p + ".entryPeriod", out);
    nonNegative(d.minDwell(), p + ".minDwell", out);
    nonNegative(d.maxDwell(), p + ".maxDwell", out);
    for (int i = 0; i < d.dwell().size(); i++) {
      if (d.maxDwell() != null && d.dwell().get(i).compareTo(d.maxDwell()) >= 0) {
        out.add(
            new Problem(
                p + ".dwell[" + i + "].after",
                "dwell "
                    + Durations.iso(d.dwell().get(i))
                    + " is never reached: maxDwell ("
                    + Durations.iso(d.maxDwell())
                    + ") ends every membership first"));
      }
    }
    if (d.minDwell() != null && d.maxDwell() != null && d.maxDwell().compareTo(d.minDwell()) < 0) {
      out.add(
          new Problem(
              p + ".maxDwell",
              "maxDwell (" + d.maxDwell() + ") must be at least minDwell (" + d.minDwell() + ")"));
    }
    // Rule 5: fast expiry sleeps until an instant the clock alone can move membership at, so
    // there must be one (a dropped leg may be it; an unparsed maxDwell was given).
    if (d.fastExpiry()
        && !g.gapWithin(p + ".criteria")
        && !g.gap(p + ".maxDwell")
        && !d.clockDriven()) {
      out.add(
          new Problem(
              p + ".fastExpiry",
              "fastExpiry needs something the clock alone can "
                  + "move membership by: an event condition with a within window, a date-relative "
                  + "property condition (within_next, within_last, more_than_ago, more_than_ahead), "
                  + "maxDwell or dwell events"));
    }
  }

  /**
   * Per-node checks (rules 3 and 4 and operand shapes). The one dispatch over node types for
   * validation.
   */
  private static void checkCriterion(Criterion c, String path, Draft<?> g, List<Problem> out) {
    if (c instanceof PropertyCriterion p) {
      checkProperty(p, path, out);
    } else if (c instanceof EventCriterion e) {
      checkEvent(e, path, out);
    } else if (c instanceof CompositeCriterion comp) {
      if (comp.conditions().isEmpty() && !g.gap(path + ".conditions") && !droppedChild(path, g)) {
        String op = g.gap(path + ".operator") ? "" : comp.operator().json() + " ";
        out.add(new Problem(path + ".conditions", "an empty " + op + "composite is not allowed"));
      }
      List<String> paths = childPaths(comp, path, g);
      for (int i = 0; i < comp.conditions().size(); i++) {
        checkCriterion(comp.conditions().get(i), paths.get(i), g, out);
      }
    }
  }

  /** The file paths of a composite's parsed children: dropped siblings keep their index. */
  private static List<String> childPaths(CompositeCriterion comp, String path, Draft<?> g) {
    List<String> paths = new ArrayList<>();
    int index = 0;
    for (int i = 0; i < comp.conditions().size(); i++, index++) {
      while (g.gap(path + ".conditions[" + index + "]")) {
        index++;
      }
      paths.add(path + ".conditions[" + index + "]");
    }
    return paths;
  }

  /** Whether a child of the composite at {@code path} could not be built. */
  private static boolean droppedChild(String path, Draft<?> g) {
    String prefix = path + ".conditions[";
    return g.gaps().stream()
        .anyMatch(
            gap -> gap.startsWith(prefix) && gap.indexOf(']', prefix.length()) == gap.length() - 1);
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
          out.add(
              new Problem(
                  path + ".value", op + " needs a value (use null to compare with JSON null)"));
        }
      }
      case GT, GTE, LT, LTE -> {
        // A non-number operand could never match (numbers compare numbers only).
        if (p.value() == null || !p.value().isNumber()) {
          out.add(
              new Problem(path + ".value", op + " compares numbers only; value must be a number"));
        }
      }
      case CONTAINS -> {
        if (p.value() == null || !p.value().isTextual()) {
          out.add(new Problem(path + ".value", "contains needs a string value"));
        }
      }
      case IN, NOT_IN -> {
        if (p.value() == null || !p.value().isArray()) {
          out.add(
              new Problem(
                  path + ".value", op + " needs an array value, e.g. [\"trial\", \"pro\"]"));
        }
      }
      case WITHIN_NEXT, WITHIN_LAST, MORE_THAN_AGO, MORE_THAN_AHEAD -> {
        if (p.value() == null) {
          out.add(
              new Problem(
                  path + ".value", op + " needs a duration value like {\"days\":3} or \"P3D\""));
        } else {
          try {
            Durations.parse(p.value());
          } catch (IllegalArgumentException e) {
            out.add(new Problem(path + ".value", op + ": " + e.getMessage()));
          }
        }
      }
    }
  }

  private static void checkEvent(EventCriterion e, String path, List<Problem> out) {
    if (e.eventName().isEmpty()) {
      out.add(new Problem(path + ".eventName", "must not be empty"));
    }
    if (e.eventName().startsWith(RESERVED_EVENT_PREFIX)) {
      out.add(
          new Problem(
              path + ".eventName",
              "event names starting with \"bucket:\" are "
                  + "reserved for transitions and cannot be used in criteria"));
    }
    if (e.check() == EventCheck.COUNT) {
      if (e.operator() != null && (e.value() == null || e.value() < 0)) {
        out.add(
            new Problem(
                path + ".value",
                "count " + e.operator().json() + " needs a non-negative integer value"));
      }
      if (e.operator() == null && e.value() != null) {
        out.add(
            new Problem(
                path + ".operator", "a count value needs an operator (gt, gte, lt, lte or eq)"));
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
    notTooLong(e.within(), path + ".within", out);
  }

  /**
   * Rule 2, read as "no match without a positive leaf": an AND is anchored by any anchored child,
   * an OR only when every branch is (else the unanchored branch matches users on its own). Empty
   * composites are reported separately, so they count as anchored to avoid a second problem for the
   * same mistake.
   */
  static boolean anchored(Criterion c) {
    return anchored(c, "", Draft.whole(c));
  }

  /**
   * A dropped child, or a composite whose operator or conditions did not parse, counts as anchored.
   */
  private static boolean anchored(Criterion c, String path, Draft<?> g) {
    if (c instanceof PropertyCriterion p) {
      return p.operator() != PropertyOperator.NEQ
          && p.operator() != PropertyOperator.NOT_EXISTS
          && p.operator() != PropertyOperator.NOT_IN;
    }
    if (c instanceof BucketCriterion b) {
      return b.check() == MembershipCheck.MEMBER;
    }
    if (c instanceof EventCriterion e) {
      return switch (e.check()) {
        case EXISTS -> true;
        case NOT_EXISTS -> e.windowed();
        // A count is positive only when it needs at least one occurrence.
        case COUNT ->
            e.operator() == null
                || e.value() == null
                || switch (e.operator()) {
                  case GT -> e.value() >= 0;
                  case GTE, EQ -> e.value() >= 1;
                  case LT, LTE -> false;
                };
      };
    }
    CompositeCriterion comp = (CompositeCriterion) c;
    boolean dropped = droppedChild(path, g);
    if (g.gap(path + ".operator")
        || g.gap(path + ".conditions")
        || (comp.conditions().isEmpty() && !dropped)) {
      return true;
    }
    List<String> paths = childPaths(comp, path, g);
    boolean any = dropped;
    boolean all = true;
    for (int i = 0; i < comp.conditions().size(); i++) {
      boolean child = anchored(comp.conditions().get(i), paths.get(i), g);
      any |= child;
      all &= child;
    }
    return comp.operator() == Logic.AND ? any : all;
  }

  private static void nonNegative(Duration d, String path, List<Problem> out) {
    if (d != null && d.isNegative()) {
      out.add(new Problem(path, "must not be negative"));
    }
    notTooLong(d, path, out);
  }

  /** Definitions built in Java bypass the JSON parser's bound; the same limit holds for them. */
  private static void notTooLong(Duration d, String path, List<Problem> out) {
    if (d != null && d.compareTo(Durations.MAX) > 0) {
      out.add(
          new Problem(path, "must be at most 36500 days (so no instant arithmetic can overflow)"));
    }
  }
}
