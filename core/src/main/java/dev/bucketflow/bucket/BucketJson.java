package dev.bucketflow.bucket;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.DefinitionReader.Draft;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * JSON binding of bucket definitions (DESIGN §6). Parsing never throws on bad content: every
 * problem becomes a {@link Problem} with a path, so a user sees all mistakes in one run.
 *
 * <p>Division of labour: this class checks shape (types, required fields, known enum spellings,
 * unknown fields); {@link BucketValidator} checks meaning (the rules of DESIGN §6), so that the
 * same rules apply to builder-made definitions. {@link #load} runs both; {@link #parse} only the
 * first.
 */
public final class BucketJson {
  private static final ObjectMapper CANONICAL = new ObjectMapper();

  private static final Set<String> DEFINITION_FIELDS =
      Set.of(
          "id",
          "name",
          "description",
          "kind",
          "criteria",
          "entryLimit",
          "entryPeriod",
          "minDwell",
          "maxDwell",
          "timeBased",
          "reconcileJoins",
          "fastExpiry",
          "syncToPostHog",
          "postHogPropertyKey",
          "enabled",
          "dwell");
  private static final Set<String> DWELL_FIELDS = Set.of("after");
  private static final Set<String> PROPERTY_FIELDS =
      Set.of("type", "property", "operator", "value");
  private static final Set<String> EVENT_FIELDS =
      Set.of("type", "eventName", "check", "operator", "value", "within");
  private static final Set<String> BUCKET_FIELDS = Set.of("type", "bucketId", "check");
  private static final Set<String> COMPOSITE_FIELDS = Set.of("type", "operator", "conditions");

  private static final String WHAT = "a bucket definition";

  private BucketJson() {}

  // ---------------------------------------------------------------- loading

  /**
   * Loads a JSON file (one definition or an array) or a directory of {@code *.json} files
   * (non-recursive, sorted by file name; an empty directory is valid), then validates the whole
   * set. Unreadable or malformed files become problems whose path is the file name.
   */
  public static LoadResult load(Path fileOrDirectory) {
    List<Problem> problems = new ArrayList<>();
    List<Draft<BucketDefinition>> drafts =
        DefinitionReader.load(fileOrDirectory, WHAT, BucketJson::parseDefinition, problems);
    // Over drafts, not just clean definitions: a bad leg must not hide its siblings' problems.
    problems.addAll(BucketValidator.validateDrafts(drafts));
    return new LoadResult(Draft.completeOnes(drafts), problems);
  }

  /**
   * Parses JSON text with the same strictness as {@link #load}; malformed text is a problem at
   * {@code source}.
   */
  public static LoadResult parse(String json, String source) {
    List<Problem> problems = new ArrayList<>();
    List<Draft<BucketDefinition>> drafts =
        DefinitionReader.parse(json, source, WHAT, BucketJson::parseDefinition, problems);
    return new LoadResult(Draft.completeOnes(drafts), problems);
  }

  // ---------------------------------------------------------------- parsing

  /**
   * Parses one definition object or an array of them; shape problems only (see class doc). Paths
   * start with the bucket's id when it has one, else {@code source} (plus {@code [i]} in an array).
   * A definition with any problem is left out of {@code buckets}.
   */
  public static LoadResult parse(JsonNode node, String source) {
    List<Problem> problems = new ArrayList<>();
    List<Draft<BucketDefinition>> drafts =
        DefinitionReader.parse(node, source, WHAT, BucketJson::parseDefinition, problems);
    return new LoadResult(Draft.completeOnes(drafts), problems);
  }

  /**
   * Always a draft: unparsable fields are left unset and criteria legs that cannot be built are
   * left out, each recorded as a gap. Without a usable id the draft is named by {@code prefix}, the
   * same name its problems carry.
   */
  private static Draft<BucketDefinition> parseDefinition(
      JsonNode node, String prefix, List<Problem> problems) {
    int before = problems.size();
    Set<String> dropped = new HashSet<>();
    FieldReader r = new FieldReader(node, prefix, problems);
    r.unknownFields(DEFINITION_FIELDS);
    r.requiredString("id");
    String name = r.string("name");
    String description = r.string("description");
    BucketKind kind = r.enumValue("kind", BucketKind::fromJson, BucketKind.values());
    EntryLimit entryLimit = r.enumValue("entryLimit", EntryLimit::fromJson, EntryLimit.values());
    Duration entryPeriod = r.duration("entryPeriod");
    Duration minDwell = r.duration("minDwell");
    Duration maxDwell = r.duration("maxDwell");
    Boolean timeBased = r.bool("timeBased");
    Boolean reconcileJoins = r.bool("reconcileJoins");
    Boolean fastExpiry = r.bool("fastExpiry");
    Boolean syncToPostHog = r.bool("syncToPostHog");
    String postHogPropertyKey = r.string("postHogPropertyKey");
    Boolean enabled = r.bool("enabled");
    List<Duration> dwell = parseDwell(node.get("dwell"), prefix + ".dwell", problems);
    Criterion criteria = null;
    if (r.present("criteria")) {
      criteria = parseCriterion(node.get("criteria"), prefix + ".criteria", problems, dropped);
    }
    // prefix is the id whenever the id is a non-empty string (DefinitionReader names it so).
    BucketDefinition draft =
        new BucketDefinition(
            prefix,
            name,
            description,
            kind,
            criteria,
            entryLimit,
            entryPeriod,
            minDwell,
            maxDwell,
            timeBased,
            reconcileJoins,
            Boolean.TRUE.equals(fastExpiry),
            Boolean.TRUE.equals(syncToPostHog),
            postHogPropertyKey,
            enabled == null || enabled,
            dwell);
    return Draft.of(draft, problems.subList(before, problems.size()), dropped);
  }

  /**
   * {@code "dwell":[{"after":<duration>}, ...]}: the thresholds that parse; each problem is at
   * {@code dwell[i].after}. Absent or null means none.
   */
  private static List<Duration> parseDwell(JsonNode node, String path, List<Problem> problems) {
    if (node == null || node.isNull()) return List.of();
    if (!node.isArray()) {
      problems.add(
          new Problem(
              path, "must be an array of {\"after\": <duration>}, got " + node.getNodeType()));
      return List.of();
    }
    List<Duration> out = new ArrayList<>();
    for (int i = 0; i < node.size(); i++) {
      String at = path + "[" + i + "]";
      JsonNode entry = node.get(i);
      if (!entry.isObject()) {
        problems.add(
            new Problem(
                at, "must be an object {\"after\": <duration>}, got " + entry.getNodeType()));
        continue;
      }
      FieldReader r = new FieldReader(entry, at, problems);
      r.unknownFields(DWELL_FIELDS);
      if (!r.present("after")) {
        problems.add(new Problem(at + ".after", "is required"));
        continue;
      }
      Duration after = r.duration("after");
      if (after == null) continue;
      if (after.isZero() || after.isNegative()) {
        problems.add(new Problem(at + ".after", "must be positive, got " + Durations.iso(after)));
      } else if (out.contains(after)) {
        problems.add(new Problem(at + ".after", "repeats " + Durations.iso(after)));
      } else {
        out.add(after);
      }
    }
    if (out.size() > MAX_DWELL_EVENTS) {
      problems.add(
          new Problem(path, "at most " + MAX_DWELL_EVENTS + " dwell events, got " + out.size()));
      return List.of();
    }
    return out;
  }

  /** Each threshold is one pass of the sweep's dwell phase: a bound keeps a tick's work bounded. */
  public static final int MAX_DWELL_EVENTS = 10;

  /**
   * The node as far as it parses; all problems are collected either way. A leaf with any problem is
   * null (its path added to {@code dropped}); a composite is kept with the children that parsed, so
   * their problems can still be checked, and with AND standing in for an unparsable operator (a gap
   * at {@code .operator}, so validation does not read it).
   */
  private static Criterion parseCriterion(
      JsonNode node, String path, List<Problem> problems, Set<String> dropped) {
    if (!node.isObject()) {
      problems.add(new Problem(path, "expected a condition object, got " + node.getNodeType()));
      dropped.add(path);
      return null;
    }
    int before = problems.size();
    JsonNode typeNode = node.get("type");
    if (typeNode == null || typeNode.isNull()) {
      problems.add(
          new Problem(path + ".type", "is required (property, event, bucket or composite)"));
      dropped.add(path);
      return null;
    }
    String type = typeNode.isTextual() ? typeNode.textValue() : typeNode.toString();
    FieldReader r = new FieldReader(node, path, problems);
    Criterion result;
    switch (type) {
      case "property" -> {
        r.unknownFields(PROPERTY_FIELDS);
        String property = r.requiredString("property");
        PropertyOperator op =
            r.requiredEnum("operator", PropertyOperator::fromJson, PropertyOperator.values());
        // Absent value -> Java null; explicit JSON null -> NullNode (a legal eq/neq operand).
        JsonNode value = node.has("value") ? node.get("value") : null;
        result = problems.size() > before ? null : new PropertyCriterion(property, op, value);
      }
      case "event" -> {
        r.unknownFields(EVENT_FIELDS);
        String eventName = r.requiredString("eventName");
        EventCheck check = r.requiredEnum("check", EventCheck::fromJson, EventCheck.values());
        CountOperator op = r.enumValue("operator", CountOperator::fromJson, CountOperator.values());
        Long value = r.integer("value");
        Duration within = r.duration("within");
        result =
            problems.size() > before
                ? null
                : new EventCriterion(eventName, check, op, value, within);
      }
      case "bucket" -> {
        r.unknownFields(BUCKET_FIELDS);
        String bucketId = r.requiredString("bucketId");
        MembershipCheck check =
            r.requiredEnum("check", MembershipCheck::fromJson, MembershipCheck.values());
        result = problems.size() > before ? null : new BucketCriterion(bucketId, check);
      }
      case "composite" -> {
        r.unknownFields(COMPOSITE_FIELDS);
        Logic logic = r.requiredEnum("operator", Logic::fromJson, Logic.values());
        List<Criterion> children = new ArrayList<>();
        JsonNode conditions = node.get("conditions");
        if (conditions == null || conditions.isNull()) {
          problems.add(new Problem(path + ".conditions", "is required"));
        } else if (!conditions.isArray()) {
          problems.add(new Problem(path + ".conditions", "must be an array of conditions"));
        } else {
          for (int i = 0; i < conditions.size(); i++) {
            Criterion child =
                parseCriterion(
                    conditions.get(i), path + ".conditions[" + i + "]", problems, dropped);
            if (child != null) {
              children.add(child);
            }
          }
        }
        result = new CompositeCriterion(logic == null ? Logic.AND : logic, children);
      }
      default -> {
        problems.add(
            new Problem(
                path + ".type",
                "unknown condition type \""
                    + type
                    + "\" (supported: property, event, bucket, composite)"));
        result = null;
      }
    }
    if (result == null) {
      dropped.add(path);
    }
    return result;
  }

  // ---------------------------------------------------------------- writing

  /**
   * Canonical JSON of a criteria tree: fixed key order, ISO-8601 durations, optional keys omitted
   * when unset, property values as stored. The input of {@link #fingerprint}.
   */
  public static ObjectNode toJson(Criterion criterion) {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    if (criterion instanceof PropertyCriterion p) {
      out.put("type", "property");
      out.put("property", p.property());
      out.put("operator", p.operator().json());
      if (p.value() != null) {
        out.set("value", p.value().deepCopy());
      }
    } else if (criterion instanceof EventCriterion e) {
      out.put("type", "event");
      out.put("eventName", e.eventName());
      out.put("check", e.check().json());
      if (e.operator() != null) {
        out.put("operator", e.operator().json());
      }
      if (e.value() != null) {
        out.put("value", e.value());
      }
      if (e.within() != null) {
        out.put("within", e.within().toString());
      }
    } else if (criterion instanceof BucketCriterion b) {
      out.put("type", "bucket");
      out.put("bucketId", b.bucketId());
      out.put("check", b.check().json());
    } else if (criterion instanceof CompositeCriterion c) {
      out.put("type", "composite");
      out.put("operator", c.operator().json());
      ArrayNode conditions = out.putArray("conditions");
      c.conditions().forEach(child -> conditions.add(toJson(child)));
    }
    return out;
  }

  /**
   * Canonical JSON of a whole definition (unset optional fields omitted); parses back to an equal
   * record.
   */
  public static ObjectNode toJson(BucketDefinition d) {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    out.put("id", d.id());
    putIfSet(out, "name", d.name());
    putIfSet(out, "description", d.description());
    out.put("kind", d.kind().json());
    if (d.criteria() != null) {
      out.set("criteria", toJson(d.criteria()));
    }
    out.put("entryLimit", d.entryLimit().json());
    putIfSet(out, "entryPeriod", d.entryPeriod());
    putIfSet(out, "minDwell", d.minDwell());
    putIfSet(out, "maxDwell", d.maxDwell());
    if (d.timeBasedOverride() != null) {
      out.put("timeBased", d.timeBasedOverride());
    }
    if (d.reconcileJoinsOverride() != null) {
      out.put("reconcileJoins", d.reconcileJoinsOverride());
    }
    out.put("fastExpiry", d.fastExpiry());
    out.put("syncToPostHog", d.syncToPostHog());
    putIfSet(out, "postHogPropertyKey", d.postHogPropertyKey());
    out.put("enabled", d.enabled());
    if (d.hasDwellEvents()) {
      var dwell = out.putArray("dwell");
      d.dwell().forEach(after -> dwell.addObject().put("after", Durations.iso(after)));
    }
    return out;
  }

  private static void putIfSet(ObjectNode out, String field, Object value) {
    if (value != null) {
      out.put(field, value.toString());
    }
  }

  /**
   * Hex SHA-256 of the canonical JSON of kind + criteria. Only what decides membership is hashed,
   * so renaming or re-describing a bucket does not trigger a re-evaluation backfill (DESIGN §9),
   * and equivalent spellings ({@code {"days":30}} vs {@code "P30D"}) hash the same.
   */
  public static String fingerprint(BucketDefinition definition) {
    ObjectNode canonical = JsonNodeFactory.instance.objectNode();
    canonical.put("kind", definition.kind().json());
    canonical.set(
        "criteria",
        definition.criteria() == null
            ? JsonNodeFactory.instance.nullNode()
            : toJson(definition.criteria()));
    try {
      byte[] bytes = CANONICAL.writeValueAsBytes(canonical);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (JsonProcessingException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot fingerprint " + definition.id(), e);
    }
  }
}
