package dev.bucketflow.journey;

import dev.bucketflow.bucket.BucketValidator;
import dev.bucketflow.bucket.DefinitionReader.Draft;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.Problem;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The load-time rules for journeys (DESIGN §10, issue 5), applied to parsed and builder-made
 * definitions alike. Every problem is reported (never just the first), each with a path rooted at
 * the journey id, e.g. {@code winback.exitOn[1]}. Disabled journeys are validated too. As for
 * buckets, parsed journeys arrive as {@link Draft}s and a rule whose input did not parse is
 * skipped.
 */
public final class JourneyValidator {
  /** Written on every join; carries the bucket id in its payload (DESIGN §7). */
  public static final String GENERIC_ENTERED = "bucket:entered";

  /** Written on every leave; carries the bucket id in its payload (DESIGN §7). */
  public static final String GENERIC_LEFT = "bucket:left";

  static final String ENTERED_PREFIX = GENERIC_ENTERED + ":";
  static final String LEFT_PREFIX = GENERIC_LEFT + ":";

  /**
   * {@code bucket:dwell:<bucketId>}: a member stayed one of the bucket's dwell thresholds (no
   * generic form).
   */
  static final String DWELL_PREFIX = "bucket:dwell:";

  private JourneyValidator() {}

  /**
   * @param bucketIds ids of the buckets that exist; {@code bucket:entered:<id>} / {@code
   *     bucket:left:<id>} must name one of them (null = none)
   * @param ownTaskQueue the worker's task queue; journeys with no {@code taskQueue} or this one
   *     must use a type in {@code registeredWorkflowTypes}
   * @param registeredWorkflowTypes workflow types this worker registers (null = none)
   */
  public static List<Problem> validate(
      List<JourneyDefinition> journeys,
      Set<String> bucketIds,
      String ownTaskQueue,
      Set<String> registeredWorkflowTypes) {
    return validateDrafts(
        journeys.stream().map(Draft::whole).toList(),
        bucketIds,
        ownTaskQueue,
        registeredWorkflowTypes);
  }

  /** {@link #validate} over parsed drafts, gaps and all. */
  static List<Problem> validateDrafts(
      List<Draft<JourneyDefinition>> drafts,
      Set<String> bucketIds,
      String ownTaskQueue,
      Set<String> registeredWorkflowTypes) {
    Set<String> buckets = bucketIds == null ? Set.of() : bucketIds;
    Set<String> types = registeredWorkflowTypes == null ? Set.of() : registeredWorkflowTypes;
    List<Problem> problems = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Draft<JourneyDefinition> d : drafts) {
      validate(d.definition(), d, seen, buckets, ownTaskQueue, types, problems);
    }
    return List.copyOf(problems);
  }

  private static void validate(
      JourneyDefinition d,
      Draft<?> g,
      Set<String> seen,
      Set<String> buckets,
      String ownQueue,
      Set<String> types,
      List<Problem> out) {
    String p = d.id();
    if (!g.gap(p + ".id")) {
      if (!BucketValidator.ID_PATTERN.matcher(d.id()).matches()) {
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

    // A field that did not parse was reported by the parser; "is required" would repeat it.
    if (!g.gap(p + ".triggerEvent")) {
      if (blank(d.triggerEvent())) {
        out.add(new Problem(p + ".triggerEvent", "is required"));
      } else {
        checkEventName(d.triggerEvent(), p + ".triggerEvent", buckets, out);
      }
    }

    Set<String> exits = new HashSet<>();
    int index = 0;
    for (int i = 0; i < d.exitOn().size(); i++, index++) {
      // Items that were not strings were left out; the rest keep their index in the file.
      while (g.gap(p + ".exitOn[" + index + "]")) {
        index++;
      }
      String e = d.exitOn().get(i);
      String path = p + ".exitOn[" + index + "]";
      if (blank(e)) {
        out.add(new Problem(path, "must not be empty"));
        continue;
      }
      if (e.equals(d.triggerEvent())) {
        out.add(
            new Problem(
                path,
                "\""
                    + e
                    + "\" is the triggerEvent; a journey cannot exit on "
                    + "the event that starts it"));
        continue;
      }
      if (!exits.add(e)) {
        out.add(new Problem(path, "duplicate exit event \"" + e + "\""));
        continue;
      }
      checkEventName(e, path, buckets, out);
    }

    if (!g.gap(p + ".workflowType")) {
      if (blank(d.workflowType())) {
        out.add(new Problem(p + ".workflowType", "is required"));
      } else if (!g.gap(p + ".taskQueue")
          && d.onQueue(ownQueue)
          && !types.contains(d.workflowType())) {
        out.add(
            new Problem(
                p + ".workflowType",
                "workflow type \""
                    + d.workflowType()
                    + "\" is not registered by this worker (task queue \""
                    + ownQueue
                    + "\"; registered: "
                    + new TreeSet<>(types)
                    + "); register it, or set taskQueue to the queue of the "
                    + "worker that implements it"));
      }
    }
    if (d.taskQueue() != null && d.taskQueue().isBlank()) {
      out.add(
          new Problem(
              p + ".taskQueue", "must not be blank (omit it to use the worker's own queue)"));
    }

    if (d.entryPeriod() != null && d.entryPeriod().isNegative()) {
      out.add(new Problem(p + ".entryPeriod", "must not be negative"));
    } else if (d.entryLimit() == EntryLimit.ONCE_PER_PERIOD
        && !g.gap(p + ".entryPeriod")
        && (d.entryPeriod() == null || d.entryPeriod().isZero())) {
      out.add(new Problem(p + ".entryPeriod", "once_per_period needs a positive entryPeriod"));
    }
  }

  /** Reserved {@code bucket:} names: only the four transition shapes, naming existing buckets. */
  private static void checkEventName(
      String name, String path, Set<String> buckets, List<Problem> out) {
    if (!name.startsWith(BucketValidator.RESERVED_EVENT_PREFIX)
        || name.equals(GENERIC_ENTERED)
        || name.equals(GENERIC_LEFT)) {
      return;
    }
    String bucket;
    if (name.startsWith(ENTERED_PREFIX)) {
      bucket = name.substring(ENTERED_PREFIX.length());
    } else if (name.startsWith(LEFT_PREFIX)) {
      bucket = name.substring(LEFT_PREFIX.length());
    } else if (name.startsWith(DWELL_PREFIX)) {
      bucket = name.substring(DWELL_PREFIX.length());
    } else {
      out.add(
          new Problem(
              path,
              "\""
                  + name
                  + "\": event names starting with \"bucket:\" are reserved; "
                  + "use bucket:entered, bucket:left, bucket:entered:<bucketId>, bucket:left:<bucketId> "
                  + "or bucket:dwell:<bucketId>"));
      return;
    }
    if (bucket.isEmpty()) {
      out.add(
          new Problem(
              path,
              "\""
                  + name
                  + "\" needs a bucket id after the last ':' "
                  + "(or drop the ':' for every bucket)"));
    } else if (!buckets.contains(bucket)) {
      out.add(
          new Problem(path, "\"" + name + "\" names bucket '" + bucket + "' which does not exist"));
    }
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
