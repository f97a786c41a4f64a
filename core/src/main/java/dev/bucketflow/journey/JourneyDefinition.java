package dev.bucketflow.journey;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.WorkflowIds;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One journey (DESIGN §10), as defined in JSON ({@link JourneyJson}) or Java ({@link
 * #builder(String)}). An event whose name equals {@code triggerEvent} starts workflow {@link
 * #workflowId(String)} of type {@code workflowType} on {@link #taskQueueOr(String)}; an event named
 * in {@code exitOn} signals {@code exit} to the user's running instance.
 *
 * <p>Nullable components: {@code triggerEvent} and {@code workflowType} (only so builder-made
 * definitions can be validated; {@link JourneyValidator} reports them as required), {@code
 * taskQueue} (null = the worker's own queue), {@code entryPeriod}. Null {@code exitOn}, {@code
 * entryLimit} and {@code settings} become their defaults (empty list, UNLIMITED, empty object) so
 * builder- and JSON-made definitions compare equal.
 *
 * <p>{@code settings} is free-form JSON handed to the workflow. It is copied on the way in and on
 * every {@link #settings()} call, so a definition stays immutable.
 */
public record JourneyDefinition(
    String id,
    String triggerEvent,
    List<String> exitOn,
    String workflowType,
    String taskQueue,
    EntryLimit entryLimit,
    Duration entryPeriod,
    boolean enabled,
    ObjectNode settings) {

  /** Prefix of every journey workflow id ({@link WorkflowIds#JOURNEY_PREFIX}). */
  public static final String WORKFLOW_ID_PREFIX = WorkflowIds.JOURNEY_PREFIX;

  /**
   * Converts {@link Builder#setting} values; durations become ISO-8601 strings such as {@code
   * "PT72H"}.
   */
  private static final ObjectMapper VALUES =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
          .build();

  public JourneyDefinition {
    Objects.requireNonNull(id, "id");
    exitOn = exitOn == null ? List.of() : List.copyOf(exitOn);
    entryLimit = entryLimit == null ? EntryLimit.UNLIMITED : entryLimit;
    settings = settings == null ? JsonNodeFactory.instance.objectNode() : settings.deepCopy();
  }

  public static Builder builder(String id) {
    return new Builder(id);
  }

  /** A copy of the free-form settings (never null; empty object when none). */
  @Override
  public ObjectNode settings() {
    return settings.deepCopy();
  }

  /**
   * The deterministic workflow id {@code journey:<journeyId>:<userId>} (long user ids hashed, see
   * {@link WorkflowIds}): one running instance per (journey, user).
   */
  public String workflowId(String userId) {
    return WorkflowIds.journey(id, userId);
  }

  /** The task queue to start on: {@code taskQueue}, or {@code ownQueue} when it is null. */
  public String taskQueueOr(String ownQueue) {
    return taskQueue == null ? ownQueue : taskQueue;
  }

  /** Whether the journey runs on the worker's own queue (so the worker must register its type). */
  public boolean onQueue(String ownQueue) {
    return taskQueue == null || taskQueue.equals(ownQueue);
  }

  /**
   * Fluent builder; defaults match the JSON defaults (no exit events, unlimited, enabled, empty
   * settings).
   */
  public static final class Builder {
    private final String id;
    private String triggerEvent;
    private List<String> exitOn = List.of();
    private String workflowType;
    private String taskQueue;
    private EntryLimit entryLimit = EntryLimit.UNLIMITED;
    private Duration entryPeriod;
    private boolean enabled = true;
    private ObjectNode settings = JsonNodeFactory.instance.objectNode();

    private Builder(String id) {
      this.id = Objects.requireNonNull(id, "id");
    }

    public Builder triggerEvent(String triggerEvent) {
      this.triggerEvent = triggerEvent;
      return this;
    }

    /** Replaces the exit events (in order). */
    public Builder exitOn(String... events) {
      this.exitOn = new ArrayList<>(Arrays.asList(events));
      return this;
    }

    public Builder workflowType(String workflowType) {
      this.workflowType = workflowType;
      return this;
    }

    /** Null (the default) = the worker's own task queue. */
    public Builder taskQueue(String taskQueue) {
      this.taskQueue = taskQueue;
      return this;
    }

    public Builder entryLimit(EntryLimit entryLimit) {
      this.entryLimit = entryLimit;
      return this;
    }

    public Builder entryPeriod(Duration entryPeriod) {
      this.entryPeriod = entryPeriod;
      return this;
    }

    /** Shorthand for {@code entryLimit(ONCE_PER_PERIOD).entryPeriod(period)}. */
    public Builder oncePer(Duration period) {
      return entryLimit(EntryLimit.ONCE_PER_PERIOD).entryPeriod(period);
    }

    public Builder enabled(boolean enabled) {
      this.enabled = enabled;
      return this;
    }

    /** Replaces all settings with a copy of {@code settings} (null = empty). */
    public Builder settings(ObjectNode settings) {
      this.settings =
          settings == null ? JsonNodeFactory.instance.objectNode() : settings.deepCopy();
      return this;
    }

    /**
     * Sets one setting. {@code value} may be a {@link JsonNode} (copied), null (JSON null), or
     * anything Jackson can convert (strings, numbers, booleans, maps, lists, records); a {@link
     * Duration} becomes its ISO-8601 string, which {@code Durations.parse} reads back.
     */
    public Builder setting(String key, Object value) {
      Objects.requireNonNull(key, "key");
      JsonNode node = value instanceof JsonNode n ? n.deepCopy() : VALUES.valueToTree(value);
      settings.set(key, node == null ? JsonNodeFactory.instance.nullNode() : node);
      return this;
    }

    public JourneyDefinition build() {
      return new JourneyDefinition(
          id,
          triggerEvent,
          exitOn,
          workflowType,
          taskQueue,
          entryLimit,
          entryPeriod,
          enabled,
          settings);
    }
  }
}
