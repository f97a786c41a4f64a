package dev.bucketflow.bucket;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shared reading rules, with a minimal definition type (its id) instead of buckets or journeys.
 */
class DefinitionReaderTest {
  static final String WHAT = "a thing";

  static String parseThing(JsonNode node, String path, List<Problem> problems) {
    int before = problems.size();
    FieldReader r = new FieldReader(node, path, problems);
    r.unknownFields(Set.of("id", "n"));
    String id = r.requiredString("id");
    r.integer("n");
    return problems.size() > before ? null : id;
  }

  final List<Problem> problems = new ArrayList<>();

  List<String> parse(String json) {
    return DefinitionReader.parse(
        json.replace('\'', '"'), "src", WHAT, DefinitionReaderTest::parseThing, problems);
  }

  List<String> problemStrings() {
    return problems.stream().map(Problem::toString).toList();
  }

  @Test
  void arrayPathsAreRootedAtTheIdElseTheSourceAndIndex() {
    assertThat(parse("[{'id':'a'},{'n':'x'},7,{'id':'','n':1},{'id':'b','zz':0},{'id':'c','n':2}]"))
        .containsExactly("a", "c");
    assertThat(problemStrings())
        .containsExactly(
            "src[1].id: is required",
            "src[1].n: must be an integer, got \"x\"",
            "src[2]: expected a thing object, got NUMBER",
            "src[3].id: must not be empty",
            "b.zz: unknown field");
  }

  @Test
  void aSingleObjectUsesItsIdOrTheSource() {
    assertThat(parse("{'id':'a','n':1}")).containsExactly("a");
    assertThat(parse("{'id':3}")).isEmpty();
    assertThat(problemStrings()).containsExactly("src.id: must be a string, got 3");
  }

  @Test
  void anythingButAnObjectOrArrayIsOneProblem() {
    assertThat(parse("'s'")).isEmpty();
    assertThat(parse("")).isEmpty();
    assertThat(
            DefinitionReader.parse(
                (JsonNode) null, "n", WHAT, DefinitionReaderTest::parseThing, problems))
        .isEmpty();
    assertThat(problemStrings())
        .containsExactly(
            "src: expected a thing object or an array of them",
            "src: expected a thing object or an array of them",
            "n: expected a thing object or an array of them");
  }

  @Test
  void textIsParsedStrictly() {
    assertThat(parse("{'id':'a','id':'b'}")).isEmpty();
    assertThat(parse("{'id':'a'} {}")).isEmpty();
    assertThat(parse("{ nope")).isEmpty();
    assertThat(problems)
        .hasSize(3)
        .allSatisfy(
            p -> {
              assertThat(p.path()).isEqualTo("src");
              assertThat(p.message()).startsWith("invalid JSON: ").contains("(line 1, column ");
            });
    assertThat(problems.get(0).message()).contains("Duplicate field 'id'");
  }

  @Test
  void loadsADirectorySortedAndNonRecursiveWithFileProblemsAfterParseProblems(@TempDir Path dir)
      throws IOException {
    Files.writeString(dir.resolve("b.json"), "[{\"id\":\"b1\"},{\"id\":\"b2\",\"zz\":1}]");
    Files.writeString(dir.resolve("a.json"), "{\"id\":\"a\"}");
    Files.writeString(dir.resolve("c-broken.json"), "{ nope");
    Files.writeString(dir.resolve("d-empty.json"), " ");
    Files.writeString(dir.resolve("e.json"), "7");
    Files.writeString(dir.resolve("notes.txt"), "{\"id\":\"ignored\"}");
    Files.createDirectory(dir.resolve("sub.json"));
    Files.writeString(dir.resolve("sub.json/x.json"), "{\"id\":\"ignored\"}");

    assertThat(DefinitionReader.load(dir, WHAT, DefinitionReaderTest::parseThing, problems))
        .containsExactly("a", "b1");
    assertThat(problemStrings())
        .containsExactly(
            "b2.zz: unknown field",
            "e.json: expected a thing object or an array of them",
            "c-broken.json: invalid JSON: Unexpected character ('n' (code 110)): was expecting double-quote"
                + " to start field name (line 1, column 3)",
            "d-empty.json: empty file; expected a thing or an array of them");
  }

  @Test
  void loadsASingleFileAndReportsAMissingPath(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("a.json"), "{\"id\":\"a\"}");
    assertThat(
            DefinitionReader.load(
                dir.resolve("a.json"), WHAT, DefinitionReaderTest::parseThing, problems))
        .containsExactly("a");
    assertThat(
            DefinitionReader.load(
                dir.resolve("nope"), WHAT, DefinitionReaderTest::parseThing, problems))
        .isEmpty();
    assertThat(problems)
        .containsExactly(new Problem(dir.resolve("nope").toString(), "no such file or directory"));
  }
}
