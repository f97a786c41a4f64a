package dev.bucketflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;
import java.util.List;

/**
 * One ingest shard: {@code bucketflow-ingest-<n>}, started by {@code signalWithStart} with
 * {@code {}} as its argument. Signal payloads are raw JSON so that a malformed event reaches the
 * ingest activity (and {@code rejected_events}) instead of failing deserialization here.
 */
@WorkflowInterface
public interface EventIngestWorkflow {

  String TYPE = "EventIngest";
  String ID_PREFIX = "bucketflow-ingest-";

  @WorkflowMethod(name = TYPE)
  void run(IngestState state);

  @SignalMethod(name = "event")
  void event(JsonNode event);

  @SignalMethod(name = "events")
  void events(List<JsonNode> events);

  @QueryMethod(name = "stats")
  IngestStats stats();
}
