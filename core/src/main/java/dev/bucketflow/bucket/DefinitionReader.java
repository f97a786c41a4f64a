package dev.bucketflow.bucket;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.stream.Stream;

/**
 * Reads definition documents (buckets, journeys) without throwing on bad content: a JSON file or a
 * directory of {@code *.json} files (non-recursive, sorted by name; empty is valid), JSON text, or
 * a parsed node, each holding one definition object or an array of them. JSON is parsed strictly —
 * duplicate keys and trailing content are errors, since both hide mistakes in hand-written files.
 * Every mistake becomes a {@link Problem}; the fields of one definition are read by the caller's
 * {@link Parser}, typically with a {@link FieldReader}.
 */
public final class DefinitionReader {

  /** Parses one definition object; records its problems and returns null to leave it out. */
  @FunctionalInterface
  public interface Parser<D> {
    D parse(JsonNode object, String path, List<Problem> problems);
  }

  /**
   * A definition built from whatever of its object parsed, plus the JSON paths that did not: the
   * path of every parse problem and of every node that could not be built (a dropped criteria leg
   * keeps its index, so its siblings keep theirs). Semantic validation runs over drafts and skips
   * only the rules whose input is a gap, so one unparsable part does not hide the problems of the
   * rest. Only complete drafts may be used as definitions: a gap was filled with a default or left
   * out.
   */
  public record Draft<D>(D definition, Set<String> gaps) {
    public Draft {
      gaps = Set.copyOf(gaps);
    }

    /** A draft whose gaps are the paths of {@code parseProblems} and {@code droppedNodes}. */
    public static <D> Draft<D> of(
        D definition, Collection<Problem> parseProblems, Collection<String> droppedNodes) {
      Set<String> gaps = new HashSet<>(droppedNodes);
      parseProblems.forEach(p -> gaps.add(p.path()));
      return new Draft<>(definition, gaps);
    }

    /** A definition made in code: nothing failed to parse. */
    public static <D> Draft<D> whole(D definition) {
      return new Draft<>(definition, Set.of());
    }

    /** The definitions of the drafts without gaps, in order. */
    public static <D> List<D> completeOnes(List<Draft<D>> drafts) {
      return drafts.stream().filter(Draft::complete).map(Draft::definition).toList();
    }

    public boolean complete() {
      return gaps.isEmpty();
    }

    /** Whether the node or field at exactly {@code path} did not parse. */
    public boolean gap(String path) {
      return gaps.contains(path);
    }

    /** Whether anything at or below {@code path} did not parse. */
    public boolean gapWithin(String path) {
      return gaps.stream()
          .anyMatch(g -> g.equals(path) || g.startsWith(path + ".") || g.startsWith(path + "["));
    }
  }

  private static final ObjectMapper STRICT =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  private DefinitionReader() {}

  /**
   * Definitions of every file under {@code fileOrDirectory}; paths of a file's problems start with
   * the definition id or the file name. Unreadable, malformed or empty files are problems at the
   * file name, added after the problems of the files that did parse.
   *
   * @param what what a document holds, for messages ("a bucket definition")
   */
  public static <D> List<D> load(
      Path fileOrDirectory, String what, Parser<D> parser, List<Problem> problems) {
    List<D> definitions = new ArrayList<>();
    // readFiles runs the parser (which adds to problems) before addAll appends the read problems.
    problems.addAll(
        readFiles(
            fileOrDirectory,
            what,
            (node, name) -> definitions.addAll(parse(node, name, what, parser, problems))));
    return definitions;
  }

  /** Parses JSON text as strictly as files; malformed text is one problem at {@code source}. */
  public static <D> List<D> parse(
      String json, String source, String what, Parser<D> parser, List<Problem> problems) {
    try {
      return parse(STRICT.readTree(json), source, what, parser, problems);
    } catch (JsonProcessingException e) {
      problems.add(new Problem(source, invalidJson(e)));
      return List.of();
    }
  }

  /**
   * Parses one definition object or an array of them. Each definition's path is its id when it has
   * a non-empty string one, else {@code source} (plus {@code [i]} in an array), so a user can find
   * it; definitions the parser rejects are left out.
   */
  public static <D> List<D> parse(
      JsonNode node, String source, String what, Parser<D> parser, List<Problem> problems) {
    List<D> definitions = new ArrayList<>();
    if (node != null && node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        parseOne(node.get(i), source + "[" + i + "]", what, parser, problems, definitions);
      }
    } else if (node != null && node.isObject()) {
      parseOne(node, source, what, parser, problems, definitions);
    } else {
      problems.add(new Problem(source, "expected " + what + " object or an array of them"));
    }
    return definitions;
  }

  private static <D> void parseOne(
      JsonNode node,
      String fallback,
      String what,
      Parser<D> parser,
      List<Problem> problems,
      List<D> definitions) {
    if (!node.isObject()) {
      problems.add(
          new Problem(fallback, "expected " + what + " object, got " + node.getNodeType()));
      return;
    }
    JsonNode id = node.get("id");
    String path =
        id != null && id.isTextual() && !id.textValue().isEmpty() ? id.textValue() : fallback;
    D definition = parser.parse(node, path, problems);
    if (definition != null) {
      definitions.add(definition);
    }
  }

  /**
   * Hands every document under {@code fileOrDirectory} to {@code parse(node, fileName)}; returns
   * read problems.
   */
  private static List<Problem> readFiles(
      Path fileOrDirectory, String what, BiConsumer<JsonNode, String> parse) {
    List<Problem> problems = new ArrayList<>();
    if (Files.isDirectory(fileOrDirectory)) {
      List<Path> files;
      try (Stream<Path> entries = Files.list(fileOrDirectory)) {
        files =
            entries
                .filter(p -> p.getFileName().toString().endsWith(".json"))
                .filter(Files::isRegularFile)
                .sorted(Comparator.comparing(p -> p.getFileName().toString()))
                .toList();
      } catch (IOException e) {
        problems.add(
            new Problem(fileOrDirectory.toString(), "cannot list directory: " + e.getMessage()));
        return problems;
      }
      for (Path file : files) {
        readFile(file, what, parse, problems);
      }
    } else if (Files.exists(fileOrDirectory)) {
      readFile(fileOrDirectory, what, parse, problems);
    } else {
      problems.add(new Problem(fileOrDirectory.toString(), "no such file or directory"));
    }
    return problems;
  }

  private static void readFile(
      Path file, String what, BiConsumer<JsonNode, String> parse, List<Problem> problems) {
    String name = file.getFileName().toString();
    JsonNode node;
    try {
      node = STRICT.readTree(Files.readString(file, StandardCharsets.UTF_8));
    } catch (JsonProcessingException e) {
      problems.add(new Problem(name, invalidJson(e)));
      return;
    } catch (IOException | RuntimeException e) {
      problems.add(new Problem(name, "cannot read: " + e));
      return;
    }
    if (node == null || node.isMissingNode()) {
      problems.add(new Problem(name, "empty file; expected " + what + " or an array of them"));
      return;
    }
    parse.accept(node, name);
  }

  private static String invalidJson(JsonProcessingException e) {
    return "invalid JSON: "
        + e.getOriginalMessage()
        + (e.getLocation() == null
            ? ""
            : " (line "
                + e.getLocation().getLineNr()
                + ", column "
                + e.getLocation().getColumnNr()
                + ")");
  }
}
