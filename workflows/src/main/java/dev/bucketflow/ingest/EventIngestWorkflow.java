package dev.bucketflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;
import java.util.List;

/**
 * One ingest shard: {@code bucketflow-ingest-<n>}, started by {@code signalWithStart} with {@code
 * {}} as its argument. Signal payloads are raw JSON so that a malformed event reaches the ingest
 * activity (and {@code rejected_events}) instead of failing deserialization here.
 */
@WorkflowInterface
public interface EventIngestWorkflow {

  String TYPE = "EventIngest";
  String ID_PREFIX = dev.bucketflow.shard.Shards.INGEST_ID_PREFIX;

  @WorkflowMethod(name = TYPE)
  void run(IngestState state);

  @SignalMethod(name = "event")
  void event(JsonNode event);

  @SignalMethod(name = "events")
  void events(List<JsonNode> events);

  /** {@code {"userId": "u1"}}: soft-deletes the contact and its memberships, exits its journeys. */
  @SignalMethod(name = "deleteContact")
  void deleteContact(JsonNode request);

  /**
   * {@code {"bucketId": "vip", "userId": "u1"}}: joins a manual bucket; an array of such requests
   * is applied element by element, in order.
   */
  @SignalMethod(name = "addToBucket")
  void addToBucket(JsonNode request);

  /**
   * {@code {"bucketId": "vip", "userId": "u1"}}: leaves a manual bucket; an array as for {@link
   * #addToBucket}.
   */
  @SignalMethod(name = "removeFromBucket")
  void removeFromBucket(JsonNode request);

  @QueryMethod(name = "stats")
  IngestStats stats();
}
