package dev.bucketflow.journey;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.Problem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JourneyJsonTest {
  static final ObjectMapper M = new ObjectMapper();

  static JourneyLoadResult parse(String json) {
    return JourneyJson.parse(json.replace('\'', '"'), "inline");
  }

  static List<String> problems(String json) {
    return parse(json).problems().stream().map(Problem::toString).toList();
  }

  @Test
  void defaults() {
    JourneyLoadResult r = parse("{'id':'j','triggerEvent':'signup','workflowType':'T'}");
    assertThat(r.ok()).isTrue();
    JourneyDefinition d = r.journeys().get(0);
    assertThat(d.exitOn()).isEmpty();
    assertThat(d.taskQueue()).isNull();
    assertThat(d.entryLimit()).isEqualTo(EntryLimit.UNLIMITED);
    assertThat(d.entryPeriod()).isNull();
    assertThat(d.enabled()).isTrue();
    assertThat(d.settings().isEmpty()).isTrue();
    // JSON null means "not set" too.
    assertThat(
            parse(
                    "{'id':'j','triggerEvent':'signup','workflowType':'T','exitOn':null,'taskQueue':null,"
                        + "'entryLimit':null,'entryPeriod':null,'enabled':null,'settings':null}")
                .journeys())
        .containsExactly(d);
  }

  @Test
  void objectAndIsoDurations() {
    JourneyLoadResult obj =
        parse(
            "{'id':'j','triggerEvent':'e','workflowType':'T',"
                + "'entryLimit':'once_per_period','entryPeriod':{'days':1,'hours':2}}");
    JourneyLoadResult iso =
        parse(
            "{'id':'j','triggerEvent':'e','workflowType':'T',"
                + "'entryLimit':'once_per_period','entryPeriod':'P1DT2H'}");
    assertThat(obj.problems()).isEmpty();
    assertThat(iso.problems()).isEmpty();
    assertThat(obj.journeys().get(0).entryPeriod()).isEqualTo(Duration.ofHours(26));
    assertThat(obj.journeys()).isEqualTo(iso.journeys());
  }

  @Test
  void allFieldsEqualTheBuilderVersionAndRoundTrip() {
    JourneyLoadResult r =
        parse(
            "{'id':'winback','name':'Winback','description':'d',"
                + "'triggerEvent':'bucket:entered:went-dormant','exitOn':['bucket:left:went-dormant','purchase'],"
                + "'workflowType':'WinbackJourney','taskQueue':'journeys','entryLimit':'once_per_period',"
                + "'entryPeriod':{'days':7},'enabled':false,"
                + "'settings':{'followUpAfter':{'days':3},'template':'winback','n':[1,2]}}");
    assertThat(r.problems()).isEmpty();
    JourneyDefinition expected =
        JourneyDefinition.builder("winback")
            .triggerEvent("bucket:entered:went-dormant")
            .exitOn("bucket:left:went-dormant", "purchase")
            .workflowType("WinbackJourney")
            .taskQueue("journeys")
            .oncePer(Duration.ofDays(7))
            .enabled(false)
            .setting("followUpAfter", Map.of("days", 3))
            .setting("template", "winback")
            .setting("n", List.of(1, 2))
            .build();
    assertThat(r.journeys()).containsExactly(expected);
    assertThat(JourneyJson.parse(JourneyJson.toJson(expected), "rt").journeys())
        .containsExactly(expected);
  }

  @Test
  void unknownFieldIsAnErrorWithPath() {
    assertThat(problems("{'id':'winback','triggerEvent':'e','workflowType':'T','trigger':'x'}"))
        .containsExactly("winback.trigger: unknown field");
    assertThat(
            parse("{'id':'winback','triggerEvent':'e','workflowType':'T','trigger':'x'}")
                .journeys())
        .isEmpty();
  }

  @Test
  void shapeProblemsAllReportedWithPaths() {
    assertThat(
            problems(
                "{'id':'j','triggerEvent':5,'exitOn':['a',7],'workflowType':'T','taskQueue':true,"
                    + "'entryLimit':'twice','entryPeriod':{'weeks':1},'enabled':'yes','settings':[1],'name':3}"))
        .containsExactlyInAnyOrder(
            "j.triggerEvent: must be a string, got 5",
            "j.exitOn[1]: must be a string, got 7",
            "j.taskQueue: must be a string, got true",
            "j.entryLimit: unknown entryLimit \"twice\" (expected unlimited, once or once_per_period)",
            "j.entryPeriod: unknown duration unit \"weeks\" (use days, hours, minutes, seconds)",
            "j.enabled: must be true or false",
            "j.settings: must be an object, got [1]",
            "j.name: must be a string, got 3");
    assertThat(problems("{'id':'j','exitOn':'a'}"))
        .containsExactly("j.exitOn: must be an array of event names, got \"a\"");
  }

  @Test
  void arrayAndMissingIdPaths() {
    JourneyLoadResult r =
        parse("[{'id':'a','triggerEvent':'e','workflowType':'T'},{'triggerEvent':'e'},7]");
    assertThat(r.journeys()).extracting(JourneyDefinition::id).containsExactly("a");
    assertThat(r.problems())
        .map(Problem::toString)
        .containsExactly(
            "inline[1].id: is required",
            "inline[2]: expected a journey definition object, got NUMBER");
    assertThat(problems("'x'"))
        .containsExactly("inline: expected a journey definition object or an array of them");
    assertThat(problems("{'id':'a'} {}"))
        .singleElement()
        .asString()
        .startsWith("inline: invalid JSON");
    assertThat(problems("{'id':'a','id':'b'}"))
        .singleElement()
        .asString()
        .contains("Duplicate field 'id'");
  }

  @Test
  void loadsDirectorySortedNonRecursiveAndReportsBadFiles(@TempDir Path dir) throws IOException {
    Files.writeString(
        dir.resolve("b.json"), "{\"id\":\"b\",\"triggerEvent\":\"e\",\"workflowType\":\"T\"}");
    Files.writeString(
        dir.resolve("a.json"), "[{\"id\":\"a\",\"triggerEvent\":\"e\",\"workflowType\":\"T\"}]");
    Files.writeString(dir.resolve("notes.txt"), "ignored");
    Files.createDirectory(dir.resolve("sub"));
    Files.writeString(dir.resolve("sub/c.json"), "{\"id\":\"c\"}");
    JourneyLoadResult ok = JourneyJson.load(dir);
    assertThat(ok.problems()).isEmpty();
    assertThat(ok.journeys()).extracting(JourneyDefinition::id).containsExactly("a", "b");

    Files.writeString(dir.resolve("c.json"), "{ nope");
    Files.writeString(dir.resolve("d.json"), "");
    JourneyLoadResult bad = JourneyJson.load(dir);
    assertThat(bad.journeys()).extracting(JourneyDefinition::id).containsExactly("a", "b");
    assertThat(bad.problems()).extracting(Problem::path).containsExactly("c.json", "d.json");
    assertThat(bad.problems().get(0).message()).startsWith("invalid JSON").contains("line 1");

    // A single file loads too.
    assertThat(JourneyJson.load(dir.resolve("b.json")).journeys())
        .extracting(JourneyDefinition::id)
        .containsExactly("b");
  }

  @Test
  void emptyDirectoryIsValidAndMissingPathIsAProblem(@TempDir Path dir) {
    JourneyLoadResult empty = JourneyJson.load(dir);
    assertThat(empty.ok()).isTrue();
    assertThat(empty.journeys()).isEmpty();

    Path missing = dir.resolve("nope");
    assertThat(JourneyJson.load(missing).problems())
        .containsExactly(new Problem(missing.toString(), "no such file or directory"));
  }

  @Test
  void aFileWithThreeProblemsReportsThree(@TempDir Path dir) throws IOException {
    // One shape problem (unknown field) and two meaning problems (unknown bucket, exit == trigger).
    Files.writeString(
        dir.resolve("j.json"),
        """
                [
                  {"id": "a", "triggerEvent": "e", "workflowType": "WinbackJourney", "exitAfter": "x"},
                  {"id": "b", "triggerEvent": "bucket:entered:ghosts", "workflowType": "WinbackJourney"},
                  {"id": "c", "triggerEvent": "signup", "exitOn": ["signup"], "workflowType": "WinbackJourney"}
                ]
                """);
    JourneyLoadResult r =
        JourneyJson.load(
            dir.resolve("j.json"), Set.of("went-dormant"), "bucketflow", Set.of("WinbackJourney"));
    assertThat(r.ok()).isFalse();
    assertThat(r.problems())
        .extracting(Problem::path)
        .containsExactly("a.exitAfter", "b.triggerEvent", "c.exitOn[0]");
    assertThat(r.problems().get(1).message())
        .contains("names bucket 'ghosts' which does not exist");
  }

  @Test
  void aShapeProblemDoesNotHideTheMeaningProblemsOfTheSameJourney(@TempDir Path dir)
      throws IOException {
    // entryLimit does not parse; exitOn[1] is not a string (left out, exitOn[2] keeps its index);
    // the trigger names a missing bucket; exitOn[2] repeats the trigger; workflowType is not a
    // string
    // (so no second "is required" for it).
    Files.writeString(
        dir.resolve("j.json"),
        """
                {"id": "w", "triggerEvent": "bucket:entered:ghosts", "entryLimit": "twice",
                 "exitOn": ["purchase", 7, "bucket:entered:ghosts"], "workflowType": 42}
                """);
    JourneyLoadResult r =
        JourneyJson.load(
            dir.resolve("j.json"), Set.of("went-dormant"), "bucketflow", Set.of("WinbackJourney"));
    assertThat(r.problems())
        .extracting(Problem::path)
        .containsExactly(
            "w.exitOn[1]", "w.workflowType", "w.entryLimit", "w.triggerEvent", "w.exitOn[2]");
    assertThat(r.problems().get(3).message())
        .contains("names bucket 'ghosts' which does not exist");
    assertThat(r.problems().get(4).message()).contains("is the triggerEvent");
    assertThat(r.journeys()).isEmpty();
  }
}
