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
import java.util.Comparator;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.stream.Stream;

/**
 * Reading definition files (buckets, journeys): a JSON file or a directory of {@code *.json}
 * files (non-recursive, sorted by name; empty is valid), parsed strictly — duplicate keys and
 * trailing content are errors, since both hide mistakes in hand-written files. Unreadable or
 * malformed files become problems whose path is the file name.
 */
public final class DefinitionFiles {

  public static final ObjectMapper STRICT = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  /**
   * Hands every document under {@code fileOrDirectory} to {@code parse(node, fileName)}; returns
   * the problems of reading them.
   *
   * @param what what a file holds, for the empty-file message ("a bucket definition")
   */
  public static List<Problem> read(Path fileOrDirectory, String what, BiConsumer<JsonNode, String> parse) {
    List<Problem> problems = new ArrayList<>();
    if (Files.isDirectory(fileOrDirectory)) {
      List<Path> files;
      try (Stream<Path> entries = Files.list(fileOrDirectory)) {
        files = entries.filter(p -> p.getFileName().toString().endsWith(".json"))
            .filter(Files::isRegularFile)
            .sorted(Comparator.comparing(p -> p.getFileName().toString()))
            .toList();
      } catch (IOException e) {
        problems.add(new Problem(fileOrDirectory.toString(), "cannot list directory: " + e.getMessage()));
        return problems;
      }
      for (Path file : files) readFile(file, what, parse, problems);
    } else if (Files.exists(fileOrDirectory)) {
      readFile(fileOrDirectory, what, parse, problems);
    } else {
      problems.add(new Problem(fileOrDirectory.toString(), "no such file or directory"));
    }
    return problems;
  }

  private static void readFile(Path file, String what, BiConsumer<JsonNode, String> parse, List<Problem> problems) {
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

  public static String invalidJson(JsonProcessingException e) {
    return "invalid JSON: " + e.getOriginalMessage() + (e.getLocation() == null ? ""
        : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
  }

  private DefinitionFiles() {}
}
