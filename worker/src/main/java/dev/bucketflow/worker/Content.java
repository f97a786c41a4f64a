package dev.bucketflow.worker;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.BucketRegistry;
import dev.bucketflow.bucket.LoadResult;
import dev.bucketflow.bucket.Problem;
import dev.bucketflow.journey.JourneyDefinition;
import dev.bucketflow.journey.JourneyJson;
import dev.bucketflow.journey.JourneyLoadResult;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Loads definitions at boot; any problem stops the boot with the full report. */
final class Content {

  private static final Logger log = LoggerFactory.getLogger(Content.class);

  /** Thrown with every problem found, one per line. */
  static final class InvalidContent extends RuntimeException {
    InvalidContent(String what, List<Problem> problems) {
      super(
          what
              + " failed validation ("
              + problems.size()
              + " problem"
              + (problems.size() == 1 ? "" : "s")
              + "):\n  "
              + String.join("\n  ", problems.stream().map(Problem::toString).toList()));
    }
  }

  static List<BucketDefinition> buckets(Path path, String enabledSpec) {
    LoadResult result = BucketJson.load(path);
    if (!result.ok()) throw new InvalidContent("bucket definitions in " + path, result.problems());
    List<String> unknown = BucketRegistry.unknownIds(result.buckets(), enabledSpec);
    if (!unknown.isEmpty()) log.warn("ENABLED_BUCKETS names unknown bucket ids {}", unknown);
    List<BucketDefinition> kept = BucketRegistry.filtered(result.buckets(), enabledSpec).all();
    Set<String> keptIds = kept.stream().map(BucketDefinition::id).collect(Collectors.toSet());
    for (BucketDefinition b : kept) {
      for (String dependency : b.referencedBuckets()) {
        // Its bucket conditions then read a membership nobody maintains: never a member.
        if (!keptIds.contains(dependency)) {
          log.warn(
              "bucket {} names bucket {} in a bucket condition, but ENABLED_BUCKETS leaves {} out: "
                  + "nobody is a member of it on this worker",
              b.id(),
              dependency,
              dependency);
        }
      }
    }
    log.info(
        "loaded {} bucket(s) from {}: {}",
        kept.size(),
        path,
        kept.stream().map(BucketDefinition::id).toList());
    return kept;
  }

  static List<JourneyDefinition> journeys(
      Path path, List<BucketDefinition> buckets, String ownQueue, Set<String> types) {
    Set<String> bucketIds = buckets.stream().map(BucketDefinition::id).collect(Collectors.toSet());
    JourneyLoadResult result = JourneyJson.load(path, bucketIds, ownQueue, types);
    if (!result.ok()) throw new InvalidContent("journey definitions in " + path, result.problems());
    log.info(
        "loaded {} journey(s) from {}: {}",
        result.journeys().size(),
        path,
        result.journeys().stream().map(JourneyDefinition::id).toList());
    return result.journeys();
  }

  private Content() {}
}
