package dev.bucketflow.ingest;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Test fakes of {@link IngestActivities} keep spilled segments in memory, as PostgreSQL would. */
public abstract class InMemorySpill implements IngestActivities {

  public final Map<String, SpillSegment> segments = new ConcurrentHashMap<>();

  @Override
  public void spill(SpillSegment segment) {
    segments.put(segment.id(), segment);
  }

  @Override
  public SpillSegment loadSpill(String segmentId) {
    SpillSegment s = segments.get(segmentId);
    if (s == null) throw new IllegalStateException("no segment " + segmentId);
    return s;
  }
}
