package dev.bucketflow.bucket;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

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
    /**
     * Duplicate keys would otherwise be silently last-wins ({@code "operator"} twice), and trailing
     * content would be ignored; both hide mistakes in hand-written files.
     */
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final ObjectMapper CANONICAL = new ObjectMapper();

    private static final Set<String> DEFINITION_FIELDS = Set.of("id", "name", "description", "kind",
            "criteria", "entryLimit", "entryPeriod", "minDwell", "maxDwell", "timeBased",
            "reconcileJoins", "fastExpiry", "syncToPostHog", "postHogPropertyKey", "enabled");
    private static final Set<String> PROPERTY_FIELDS = Set.of("type", "property", "operator", "value");
    private static final Set<String> EVENT_FIELDS =
            Set.of("type", "eventName", "check", "operator", "value", "within");
    private static final Set<String> COMPOSITE_FIELDS = Set.of("type", "operator", "conditions");

    private BucketJson() {}

    // ---------------------------------------------------------------- loading

    /**
     * Loads a JSON file (one definition or an array) or a directory of {@code *.json} files
     * (non-recursive, sorted by file name; an empty directory is valid), then validates the whole
     * set. Unreadable or malformed files become problems whose path is the file name.
     */
    public static LoadResult load(Path fileOrDirectory) {
        List<BucketDefinition> buckets = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        if (Files.isDirectory(fileOrDirectory)) {
            List<Path> files;
            try (Stream<Path> entries = Files.list(fileOrDirectory)) {
                files = entries.filter(p -> p.getFileName().toString().endsWith(".json"))
                        .filter(Files::isRegularFile)
                        .sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()))
                        .toList();
            } catch (IOException e) {
                return new LoadResult(List.of(),
                        List.of(new Problem(fileOrDirectory.toString(), "cannot list directory: " + e.getMessage())));
            }
            for (Path file : files) {
                loadFile(file, buckets, problems);
            }
        } else if (Files.exists(fileOrDirectory)) {
            loadFile(fileOrDirectory, buckets, problems);
        } else {
            problems.add(new Problem(fileOrDirectory.toString(), "no such file or directory"));
        }
        problems.addAll(BucketValidator.validate(buckets));
        return new LoadResult(buckets, problems);
    }

    private static void loadFile(Path file, List<BucketDefinition> buckets, List<Problem> problems) {
        String name = file.getFileName().toString();
        JsonNode node;
        try {
            node = MAPPER.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            problems.add(new Problem(name, "invalid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr()
                            + ", column " + e.getLocation().getColumnNr() + ")")));
            return;
        } catch (IOException | RuntimeException e) {
            problems.add(new Problem(name, "cannot read: " + e));
            return;
        }
        if (node == null || node.isMissingNode()) {
            problems.add(new Problem(name, "empty file; expected a bucket definition or an array of them"));
            return;
        }
        LoadResult parsed = parse(node, name);
        buckets.addAll(parsed.buckets());
        problems.addAll(parsed.problems());
    }

    /** Parses JSON text with the same strictness as {@link #load}; malformed text is a problem at {@code source}. */
    public static LoadResult parse(String json, String source) {
        try {
            return parse(MAPPER.readTree(json), source);
        } catch (JsonProcessingException e) {
            return new LoadResult(List.of(), List.of(new Problem(source, "invalid JSON: " + e.getOriginalMessage())));
        }
    }

    // ---------------------------------------------------------------- parsing

    /**
     * Parses one definition object or an array of them; shape problems only (see class doc).
     * Paths start with the bucket's id when it has one, else {@code source} (plus {@code [i]} in an
     * array). A definition with any problem is left out of {@code buckets}.
     */
    public static LoadResult parse(JsonNode node, String source) {
        List<BucketDefinition> buckets = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        if (node != null && node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                parseDefinition(node.get(i), source + "[" + i + "]", problems).ifPresent(buckets::add);
            }
        } else if (node != null && node.isObject()) {
            parseDefinition(node, source, problems).ifPresent(buckets::add);
        } else {
            problems.add(new Problem(source, "expected a bucket definition object or an array of them"));
        }
        return new LoadResult(buckets, problems);
    }

    private static Optional<BucketDefinition> parseDefinition(JsonNode node, String fallback, List<Problem> problems) {
        if (!node.isObject()) {
            problems.add(new Problem(fallback, "expected a bucket definition object, got " + node.getNodeType()));
            return Optional.empty();
        }
        int before = problems.size();
        JsonNode idNode = node.get("id");
        String prefix = idNode != null && idNode.isTextual() && !idNode.textValue().isEmpty()
                ? idNode.textValue() : fallback;
        Reader r = new Reader(node, prefix, problems);
        r.unknownFields(DEFINITION_FIELDS);
        String id = r.requiredString("id");
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
        Criterion criteria = null;
        if (r.present("criteria")) {
            criteria = parseCriterion(node.get("criteria"), prefix + ".criteria", problems);
        }
        if (problems.size() > before) {
            return Optional.empty();
        }
        return Optional.of(new BucketDefinition(id, name, description, kind, criteria, entryLimit,
                entryPeriod, minDwell, maxDwell, timeBased, reconcileJoins,
                Boolean.TRUE.equals(fastExpiry), Boolean.TRUE.equals(syncToPostHog), postHogPropertyKey,
                enabled == null || enabled));
    }

    /** Returns null when the node (or any descendant) has a problem; all problems are still collected. */
    private static Criterion parseCriterion(JsonNode node, String path, List<Problem> problems) {
        if (!node.isObject()) {
            problems.add(new Problem(path, "expected a condition object, got " + node.getNodeType()));
            return null;
        }
        int before = problems.size();
        JsonNode typeNode = node.get("type");
        if (typeNode == null || typeNode.isNull()) {
            problems.add(new Problem(path + ".type", "is required (property, event or composite)"));
            return null;
        }
        String type = typeNode.isTextual() ? typeNode.textValue() : typeNode.toString();
        Reader r = new Reader(node, path, problems);
        Criterion result;
        switch (type) {
            case "property" -> {
                r.unknownFields(PROPERTY_FIELDS);
                String property = r.requiredString("property");
                PropertyOperator op = r.requiredEnum("operator", PropertyOperator::fromJson, PropertyOperator.values());
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
                result = problems.size() > before ? null : new EventCriterion(eventName, check, op, value, within);
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
                        children.add(parseCriterion(conditions.get(i), path + ".conditions[" + i + "]", problems));
                    }
                }
                result = problems.size() > before ? null : new CompositeCriterion(logic, children);
            }
            default -> {
                problems.add(new Problem(path + ".type", "unknown condition type \"" + type
                        + "\" (supported: property, event, composite)"));
                result = null;
            }
        }
        return result;
    }

    /** Typed field access that records a problem instead of throwing. Absent and JSON null both mean "not set". */
    private static final class Reader {
        private final JsonNode node;
        private final String path;
        private final List<Problem> problems;

        Reader(JsonNode node, String path, List<Problem> problems) {
            this.node = node;
            this.path = path;
            this.problems = problems;
        }

        boolean present(String field) {
            JsonNode v = node.get(field);
            return v != null && !v.isNull();
        }

        void unknownFields(Set<String> known) {
            Iterator<String> names = node.fieldNames();
            while (names.hasNext()) {
                String f = names.next();
                if (!known.contains(f)) {
                    problem(f, "unknown field");
                }
            }
        }

        String string(String field) {
            if (!present(field)) {
                return null;
            }
            JsonNode v = node.get(field);
            if (!v.isTextual()) {
                problem(field, "must be a string");
                return null;
            }
            return v.textValue();
        }

        String requiredString(String field) {
            if (!present(field)) {
                problem(field, "is required");
                return null;
            }
            String s = string(field);
            if (s != null && s.isEmpty()) {
                problem(field, "must not be empty");
            }
            return s;
        }

        Boolean bool(String field) {
            if (!present(field)) {
                return null;
            }
            JsonNode v = node.get(field);
            if (!v.isBoolean()) {
                problem(field, "must be true or false");
                return null;
            }
            return v.booleanValue();
        }

        Long integer(String field) {
            if (!present(field)) {
                return null;
            }
            JsonNode v = node.get(field);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                problem(field, "must be an integer, got " + v);
                return null;
            }
            return v.longValue();
        }

        Duration duration(String field) {
            if (!present(field)) {
                return null;
            }
            try {
                return Durations.parse(node.get(field));
            } catch (IllegalArgumentException e) {
                problem(field, e.getMessage());
                return null;
            }
        }

        <E extends Enum<E>> E enumValue(String field, Function<String, Optional<E>> lookup, E[] values) {
            if (!present(field)) {
                return null;
            }
            JsonNode v = node.get(field);
            Optional<E> e = v.isTextual() ? lookup.apply(v.textValue()) : Optional.empty();
            if (e.isEmpty()) {
                problem(field, "unknown " + field + " " + v + " (expected " + JsonNames.expected(values) + ")");
                return null;
            }
            return e.get();
        }

        <E extends Enum<E>> E requiredEnum(String field, Function<String, Optional<E>> lookup, E[] values) {
            if (!present(field)) {
                problem(field, "is required (" + JsonNames.expected(values) + ")");
                return null;
            }
            return enumValue(field, lookup, values);
        }

        private void problem(String field, String message) {
            problems.add(new Problem(path + "." + field, message));
        }
    }

    // ---------------------------------------------------------------- writing

    /**
     * Canonical JSON of a criteria tree: fixed key order, ISO-8601 durations, optional keys
     * omitted when unset, property values as stored. The input of {@link #fingerprint}.
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
        } else if (criterion instanceof CompositeCriterion c) {
            out.put("type", "composite");
            out.put("operator", c.operator().json());
            ArrayNode conditions = out.putArray("conditions");
            c.conditions().forEach(child -> conditions.add(toJson(child)));
        }
        return out;
    }

    /** Canonical JSON of a whole definition (unset optional fields omitted); parses back to an equal record. */
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
        canonical.set("criteria", definition.criteria() == null
                ? JsonNodeFactory.instance.nullNode() : toJson(definition.criteria()));
        try {
            byte[] bytes = CANONICAL.writeValueAsBytes(canonical);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (JsonProcessingException | NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot fingerprint " + definition.id(), e);
        }
    }
}
