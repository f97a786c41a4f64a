package dev.bucketflow.journey;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.DefinitionReader;
import dev.bucketflow.bucket.DefinitionReader.Draft;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.FieldReader;
import dev.bucketflow.bucket.Problem;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * JSON binding of journey definitions (DESIGN §10). Parsing never throws on bad content: every
 * problem becomes a {@link Problem} with a path rooted at the journey id, so a user sees all
 * mistakes in one run.
 *
 * <p>Division of labour (as in {@code BucketJson}): this class checks shape (types, known enum
 * spellings, unknown fields, {@code id} present); {@link JourneyValidator} checks meaning (required
 * trigger and workflow type, event names, bucket references, registered types), so the same rules
 * apply to builder-made definitions. {@link #load(Path)} and {@link #parse} check shape only,
 * because meaning needs the bucket ids and the worker's queue and types; {@link #load(Path, Set,
 * String, Set)} does both.
 *
 * <p>Fields: {@code id, triggerEvent, exitOn, workflowType, taskQueue, entryLimit, entryPeriod,
 * enabled, settings}; {@code name} and {@code description} are accepted (must be strings) and
 * ignored — they document the file and never reach the definition. Absent and JSON null both mean
 * "not set".
 */
public final class JourneyJson {
  private static final Set<String> FIELDS =
      Set.of(
          "id",
          "name",
          "description",
          "triggerEvent",
          "exitOn",
          "workflowType",
          "taskQueue",
          "entryLimit",
          "entryPeriod",
          "enabled",
          "settings");

  private static final String WHAT = "a journey definition";

  private JourneyJson() {}

  // ---------------------------------------------------------------- loading

  /**
   * Loads a JSON file (one definition or an array) or a directory of {@code *.json} files
   * (non-recursive, sorted by file name; an empty directory is valid). A missing path, unreadable
   * or malformed files become problems whose path is the file (or directory) name. Shape only; see
   * {@link #load(Path, Set, String, Set)}.
   */
  public static JourneyLoadResult load(Path fileOrDirectory) {
    List<Problem> problems = new ArrayList<>();
    List<Draft<JourneyDefinition>> drafts =
        DefinitionReader.load(fileOrDirectory, WHAT, JourneyJson::parseDefinition, problems);
    return new JourneyLoadResult(Draft.completeOnes(drafts), problems);
  }

  /**
   * {@link #load(Path)} followed by {@link JourneyValidator#validate} of everything that parsed,
   * including the parsable rest of a journey with a shape problem (as for buckets).
   */
  public static JourneyLoadResult load(
      Path fileOrDirectory,
      Set<String> bucketIds,
      String ownTaskQueue,
      Set<String> registeredWorkflowTypes) {
    List<Problem> problems = new ArrayList<>();
    List<Draft<JourneyDefinition>> drafts =
        DefinitionReader.load(fileOrDirectory, WHAT, JourneyJson::parseDefinition, problems);
    problems.addAll(
        JourneyValidator.validateDrafts(drafts, bucketIds, ownTaskQueue, registeredWorkflowTypes));
    return new JourneyLoadResult(Draft.completeOnes(drafts), problems);
  }

  // ---------------------------------------------------------------- parsing

  /**
   * Parses JSON text with the same strictness as {@link #load}; malformed text is a problem at
   * {@code source}.
   */
  public static JourneyLoadResult parse(String json, String source) {
    List<Problem> problems = new ArrayList<>();
    List<Draft<JourneyDefinition>> drafts =
        DefinitionReader.parse(json, source, WHAT, JourneyJson::parseDefinition, problems);
    return new JourneyLoadResult(Draft.completeOnes(drafts), problems);
  }

  /**
   * Parses one definition object or an array of them; shape problems only. Paths start with the
   * journey's id when it has one, else {@code source} (plus {@code [i]} in an array). A definition
   * with any problem is left out of {@code journeys}.
   */
  public static JourneyLoadResult parse(JsonNode node, String source) {
    List<Problem> problems = new ArrayList<>();
    List<Draft<JourneyDefinition>> drafts =
        DefinitionReader.parse(node, source, WHAT, JourneyJson::parseDefinition, problems);
    return new JourneyLoadResult(Draft.completeOnes(drafts), problems);
  }

  /** Always a draft: unparsable fields (and {@code exitOn} items) are left out, each a gap. */
  private static Draft<JourneyDefinition> parseDefinition(
      JsonNode node, String prefix, List<Problem> problems) {
    int before = problems.size();
    FieldReader r = new FieldReader(node, prefix, problems);
    r.unknownFields(FIELDS);
    r.requiredString("id");
    r.string("name");
    r.string("description");
    String triggerEvent = r.string("triggerEvent");
    List<String> exitOn = r.stringList("exitOn", "event names");
    String workflowType = r.string("workflowType");
    String taskQueue = r.string("taskQueue");
    EntryLimit entryLimit = r.enumValue("entryLimit", EntryLimit::fromJson, EntryLimit.values());
    Duration entryPeriod = r.duration("entryPeriod");
    Boolean enabled = r.bool("enabled");
    ObjectNode settings = r.object("settings");
    // prefix is the id whenever the id is a non-empty string (DefinitionReader names it so).
    JourneyDefinition draft =
        new JourneyDefinition(
            prefix,
            triggerEvent,
            exitOn,
            workflowType,
            taskQueue,
            entryLimit,
            entryPeriod,
            enabled == null || enabled,
            settings);
    return Draft.of(draft, problems.subList(before, problems.size()), Set.of());
  }

  // ---------------------------------------------------------------- writing

  /**
   * Canonical JSON of a definition: fixed key order, ISO-8601 {@code entryPeriod}, unset optional
   * fields ({@code taskQueue}, {@code entryPeriod}) omitted. Parses back to an equal record.
   */
  public static ObjectNode toJson(JourneyDefinition d) {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    out.put("id", d.id());
    if (d.triggerEvent() != null) {
      out.put("triggerEvent", d.triggerEvent());
    }
    d.exitOn().forEach(out.putArray("exitOn")::add);
    if (d.workflowType() != null) {
      out.put("workflowType", d.workflowType());
    }
    if (d.taskQueue() != null) {
      out.put("taskQueue", d.taskQueue());
    }
    out.put("entryLimit", d.entryLimit().json());
    if (d.entryPeriod() != null) {
      out.put("entryPeriod", d.entryPeriod().toString());
    }
    out.put("enabled", d.enabled());
    out.set("settings", d.settings());
    return out;
  }
}
