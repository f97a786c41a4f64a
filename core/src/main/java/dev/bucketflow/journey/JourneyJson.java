package dev.bucketflow.journey;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.Durations;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.Problem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * JSON binding of journey definitions (DESIGN §10). Parsing never throws on bad content: every
 * problem becomes a {@link Problem} with a path rooted at the journey id, so a user sees all
 * mistakes in one run.
 *
 * <p>Division of labour (as in {@code BucketJson}): this class checks shape (types, known enum
 * spellings, unknown fields, {@code id} present); {@link JourneyValidator} checks meaning
 * (required trigger and workflow type, event names, bucket references, registered types), so the
 * same rules apply to builder-made definitions. {@link #load(Path)} and {@link #parse} check shape
 * only, because meaning needs the bucket ids and the worker's queue and types;
 * {@link #load(Path, Set, String, Set)} does both.
 *
 * <p>Fields: {@code id, triggerEvent, exitOn, workflowType, taskQueue, entryLimit, entryPeriod,
 * enabled, settings}; {@code name} and {@code description} are accepted (must be strings) and
 * ignored — they document the file and never reach the definition. Absent and JSON null both mean
 * "not set".
 */
public final class JourneyJson {
    /** Duplicate keys and trailing content are errors: both hide mistakes in hand-written files. */
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private static final Set<String> FIELDS = Set.of("id", "name", "description", "triggerEvent", "exitOn",
            "workflowType", "taskQueue", "entryLimit", "entryPeriod", "enabled", "settings");
    private static final String ENTRY_LIMITS = Arrays.stream(EntryLimit.values())
            .map(EntryLimit::json).collect(Collectors.joining(", "));

    private JourneyJson() {}

    // ---------------------------------------------------------------- loading

    /**
     * Loads a JSON file (one definition or an array) or a directory of {@code *.json} files
     * (non-recursive, sorted by file name; an empty directory is valid). A missing path, unreadable
     * or malformed files become problems whose path is the file (or directory) name. Shape only;
     * see {@link #load(Path, Set, String, Set)}.
     */
    public static JourneyLoadResult load(Path fileOrDirectory) {
        List<JourneyDefinition> journeys = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        if (Files.isDirectory(fileOrDirectory)) {
            List<Path> files;
            try (Stream<Path> entries = Files.list(fileOrDirectory)) {
                files = entries.filter(p -> p.getFileName().toString().endsWith(".json"))
                        .filter(Files::isRegularFile)
                        .sorted(Comparator.comparing(p -> p.getFileName().toString()))
                        .toList();
            } catch (IOException e) {
                return new JourneyLoadResult(List.of(),
                        List.of(new Problem(fileOrDirectory.toString(), "cannot list directory: " + e.getMessage())));
            }
            for (Path file : files) {
                loadFile(file, journeys, problems);
            }
        } else if (Files.exists(fileOrDirectory)) {
            loadFile(fileOrDirectory, journeys, problems);
        } else {
            problems.add(new Problem(fileOrDirectory.toString(), "no such file or directory"));
        }
        return new JourneyLoadResult(journeys, problems);
    }

    /** {@link #load(Path)} followed by {@link JourneyValidator#validate} of everything that parsed. */
    public static JourneyLoadResult load(Path fileOrDirectory, Set<String> bucketIds, String ownTaskQueue,
            Set<String> registeredWorkflowTypes) {
        JourneyLoadResult loaded = load(fileOrDirectory);
        List<Problem> problems = new ArrayList<>(loaded.problems());
        problems.addAll(JourneyValidator.validate(loaded.journeys(), bucketIds, ownTaskQueue, registeredWorkflowTypes));
        return new JourneyLoadResult(loaded.journeys(), problems);
    }

    private static void loadFile(Path file, List<JourneyDefinition> journeys, List<Problem> problems) {
        String name = file.getFileName().toString();
        JsonNode node;
        try {
            node = MAPPER.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            problems.add(new Problem(name, invalidJson(e)));
            return;
        } catch (IOException | RuntimeException e) {
            problems.add(new Problem(name, "cannot read: " + e));
            return;
        }
        if (node == null || node.isMissingNode()) {
            problems.add(new Problem(name, "empty file; expected a journey definition or an array of them"));
            return;
        }
        JourneyLoadResult parsed = parse(node, name);
        journeys.addAll(parsed.journeys());
        problems.addAll(parsed.problems());
    }

    private static String invalidJson(JsonProcessingException e) {
        return "invalid JSON: " + e.getOriginalMessage() + (e.getLocation() == null ? ""
                : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
    }

    // ---------------------------------------------------------------- parsing

    /** Parses JSON text with the same strictness as {@link #load}; malformed text is a problem at {@code source}. */
    public static JourneyLoadResult parse(String json, String source) {
        try {
            return parse(MAPPER.readTree(json), source);
        } catch (JsonProcessingException e) {
            return new JourneyLoadResult(List.of(), List.of(new Problem(source, invalidJson(e))));
        }
    }

    /**
     * Parses one definition object or an array of them; shape problems only. Paths start with the
     * journey's id when it has one, else {@code source} (plus {@code [i]} in an array). A
     * definition with any problem is left out of {@code journeys}.
     */
    public static JourneyLoadResult parse(JsonNode node, String source) {
        List<JourneyDefinition> journeys = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        if (node != null && node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                parseDefinition(node.get(i), source + "[" + i + "]", problems).ifPresent(journeys::add);
            }
        } else if (node != null && node.isObject()) {
            parseDefinition(node, source, problems).ifPresent(journeys::add);
        } else {
            problems.add(new Problem(source, "expected a journey definition object or an array of them"));
        }
        return new JourneyLoadResult(journeys, problems);
    }

    private static Optional<JourneyDefinition> parseDefinition(JsonNode node, String fallback, List<Problem> problems) {
        if (!node.isObject()) {
            problems.add(new Problem(fallback, "expected a journey definition object, got " + node.getNodeType()));
            return Optional.empty();
        }
        int before = problems.size();
        JsonNode idNode = node.get("id");
        String prefix = idNode != null && idNode.isTextual() && !idNode.textValue().isEmpty()
                ? idNode.textValue() : fallback;
        Reader r = new Reader(node, prefix, problems);
        r.unknownFields();
        String id = r.requiredString("id");
        r.string("name");
        r.string("description");
        String triggerEvent = r.string("triggerEvent");
        List<String> exitOn = r.stringList("exitOn");
        String workflowType = r.string("workflowType");
        String taskQueue = r.string("taskQueue");
        EntryLimit entryLimit = r.entryLimit("entryLimit");
        Duration entryPeriod = r.duration("entryPeriod");
        Boolean enabled = r.bool("enabled");
        ObjectNode settings = r.object("settings");
        if (problems.size() > before) {
            return Optional.empty();
        }
        return Optional.of(new JourneyDefinition(id, triggerEvent, exitOn, workflowType, taskQueue,
                entryLimit, entryPeriod, enabled == null || enabled, settings));
    }

    // ---------------------------------------------------------------- writing

    /**
     * Canonical JSON of a definition: fixed key order, ISO-8601 {@code entryPeriod}, unset
     * optional fields ({@code taskQueue}, {@code entryPeriod}) omitted. Parses back to an equal record.
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

        void unknownFields() {
            Iterator<String> names = node.fieldNames();
            while (names.hasNext()) {
                String f = names.next();
                if (!FIELDS.contains(f)) {
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
                problem(field, "must be a string, got " + v);
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

        List<String> stringList(String field) {
            if (!present(field)) {
                return List.of();
            }
            JsonNode v = node.get(field);
            if (!v.isArray()) {
                problem(field, "must be an array of event names, got " + v);
                return List.of();
            }
            List<String> out = new ArrayList<>();
            for (int i = 0; i < v.size(); i++) {
                JsonNode item = v.get(i);
                if (item.isTextual()) {
                    out.add(item.textValue());
                } else {
                    problem(field + "[" + i + "]", "must be a string, got " + item);
                }
            }
            return out;
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

        EntryLimit entryLimit(String field) {
            if (!present(field)) {
                return null;
            }
            JsonNode v = node.get(field);
            Optional<EntryLimit> e = v.isTextual() ? EntryLimit.fromJson(v.textValue()) : Optional.empty();
            if (e.isEmpty()) {
                problem(field, "unknown " + field + " " + v + " (expected " + ENTRY_LIMITS + ")");
                return null;
            }
            return e.get();
        }

        ObjectNode object(String field) {
            if (!present(field)) {
                return null;
            }
            JsonNode v = node.get(field);
            if (!v.isObject()) {
                problem(field, "must be an object, got " + v);
                return null;
            }
            return (ObjectNode) v;
        }

        private void problem(String field, String message) {
            problems.add(new Problem(path + "." + field, message));
        }
    }
}
