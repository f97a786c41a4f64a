package dev.bucketflow.bucket;

import static dev.bucketflow.bucket.Criteria.event;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BucketJsonTest {
  static final ObjectMapper M = new ObjectMapper();

  static LoadResult parse(String json) {
    return BucketJson.parse(json.replace('\'', '"'), "inline");
  }

  static List<String> problems(String json) {
    return parse(json).problems().stream().map(Problem::toString).toList();
  }

  @Test
  void examplesLoadAsFourValidBucketsEqualToTheBuilderVersions() {
    LoadResult r = BucketJson.load(Fixtures.EXAMPLES);
    assertThat(r.problems()).isEmpty();
    assertThat(r.ok()).isTrue();
    assertThat(r.buckets()).hasSize(4);
    // Loaded sorted by file name.
    assertThat(r.buckets())
        .extracting(BucketDefinition::id)
        .containsExactly("engaged-or-paying", "power-users", "trial-expiring-soon", "went-dormant");
    assertThat(r.buckets()).containsExactlyInAnyOrderElementsOf(Fixtures.examples());
  }

  @Test
  void eachExampleFileEqualsItsBuilderTwin() {
    for (BucketDefinition expected : Fixtures.examples()) {
      LoadResult r = BucketJson.load(Fixtures.EXAMPLES.resolve(expected.id() + ".json"));
      assertThat(r.problems()).isEmpty();
      assertThat(r.buckets()).containsExactly(expected);
      assertThat(BucketJson.fingerprint(r.buckets().get(0)))
          .isEqualTo(BucketJson.fingerprint(expected));
    }
  }

  @Test
  void defaultsAndAllFields() {
    LoadResult r = parse("{'id':'b','criteria':{'type':'event','eventName':'e','check':'exists'}}");
    BucketDefinition d = r.buckets().get(0);
    assertThat(d.kind()).isEqualTo(BucketKind.DYNAMIC);
    assertThat(d.entryLimit()).isEqualTo(EntryLimit.UNLIMITED);
    assertThat(d.enabled()).isTrue();
    assertThat(d.fastExpiry()).isFalse();
    assertThat(d.timeBasedOverride()).isNull();

    LoadResult full =
        parse(
            "{'id':'b','name':'B','description':'d','kind':'dynamic',"
                + "'criteria':{'type':'event','eventName':'e','check':'count','operator':'gt','value':2,'within':'PT1H'},"
                + "'entryLimit':'once_per_period','entryPeriod':'P1D','minDwell':{'minutes':5},'maxDwell':{'days':2},"
                + "'timeBased':true,'reconcileJoins':false,'fastExpiry':true,'syncToPostHog':true,"
                + "'postHogPropertyKey':'in_b','enabled':false}");
    assertThat(full.problems()).isEmpty();
    BucketDefinition expected =
        BucketDefinition.builder("b")
            .name("B")
            .description("d")
            .criteria(event("e").within(Duration.ofHours(1)).count(CountOperator.GT, 2))
            .oncePer(Duration.ofDays(1))
            .minDwell(Duration.ofMinutes(5))
            .maxDwell(Duration.ofDays(2))
            .timeBased(true)
            .reconcileJoins(false)
            .fastExpiry(true)
            .syncToPostHog(true)
            .postHogPropertyKey("in_b")
            .enabled(false)
            .build();
    assertThat(full.buckets()).containsExactly(expected);
    // Canonical JSON round-trips.
    assertThat(BucketJson.parse(BucketJson.toJson(expected), "rt").buckets())
        .containsExactly(expected);
  }

  @Test
  void arrayOfDefinitionsAndPathsWithoutIds() {
    List<String> p =
        problems(
            "[{'id':'a','criteria':{'type':'event','eventName':'e','check':'exists'}},"
                + "{'name':'no id'}, 7]");
    assertThat(p)
        .containsExactly(
            "inline[1].id: is required",
            "inline[2]: expected a bucket definition object, got NUMBER");
    assertThat(
            parse("[{'id':'a','criteria':{'type':'event','eventName':'e','check':'exists'}}]")
                .buckets())
        .hasSize(1);
  }

  @Test
  void shapeProblemsCarryTheirPath() {
    List<String> p =
        problems(
            "{'id':'went-dormant','colour':'red','enabled':'yes','kind':'static',"
                + "'criteria':{'type':'composite','operator':'and','conditions':["
                + "{'type':'event','eventName':'app.active','check':'exists'},"
                + "{'type':'event','eventName':7,'check':'never','within':{'weeks':1},'windw':'x'},"
                + "{'type':'email_opened','campaign':'x'},"
                + "{'type':'property','property':'plan','operator':'like','value':'x'},"
                + "{'type':'event','eventName':'e','check':'count','operator':'gte','value':2.5}]}}");
    assertThat(p)
        .containsExactlyInAnyOrder(
            "went-dormant.colour: unknown field",
            "went-dormant.enabled: must be true or false",
            "went-dormant.kind: unknown kind \"static\" (expected dynamic or manual)",
            "went-dormant.criteria.conditions[1].windw: unknown field",
            "went-dormant.criteria.conditions[1].eventName: must be a string, got 7",
            "went-dormant.criteria.conditions[1].check: unknown check \"never\" (expected exists, not_exists or count)",
            "went-dormant.criteria.conditions[1].within: unknown duration unit \"weeks\" (use days, hours, minutes, seconds)",
            "went-dormant.criteria.conditions[2].type: unknown condition type \"email_opened\" (supported: property, event, bucket, composite)",
            "went-dormant.criteria.conditions[3].operator: unknown operator \"like\" "
                + "(expected eq, neq, gt, gte, lt, lte, exists, not_exists, contains, in, not_in, within_next, "
                + "within_last, more_than_ago or more_than_ahead)",
            "went-dormant.criteria.conditions[4].value: must be an integer, got 2.5");
    assertThat(
            parse("{'id':'x','criteria':{'type':'composite','operator':'xor','conditions':{}}}")
                .problems())
        .extracting(Problem::toString)
        .containsExactly(
            "x.criteria.operator: unknown operator \"xor\" (expected and or or)",
            "x.criteria.conditions: must be an array of conditions");
  }

  @Test
  void parseNeverThrowsOnGarbage() {
    for (String bad :
        List.of(
            "7",
            "\"x\"",
            "null",
            "[[]]",
            "{'id':{}}",
            "{'id':'a','criteria':[]}",
            "{'id':'a','criteria':{'type':null}}",
            "{'id':'a','criteria':{'type':'composite'}}")) {
      LoadResult r = parse(bad);
      assertThat(r.ok()).as(bad).isFalse();
      assertThat(r.buckets()).as(bad).isEmpty();
    }
    assertThat(BucketJson.parse("{\"id\":\"a\",\"id\":\"b\"}", "dup").problems()).hasSize(1);
  }

  @Test
  void fingerprintIsStableAcrossSpellingsAndIgnoresPresentation() {
    String a =
        BucketJson.fingerprint(
            parse(
                    "{'id':'a','name':'A','criteria':{'type':'event','eventName':'e',"
                        + "'check':'count','operator':'gte','value':10,'within':{'days':30}}}")
                .buckets()
                .get(0));
    String b =
        BucketJson.fingerprint(
            parse(
                    "{'criteria':{'within':'P30D','value':10,'operator':'gte',"
                        + "'check':'count','eventName':'e','type':'event'},'id':'b','description':'other'}")
                .buckets()
                .get(0));
    String c =
        BucketJson.fingerprint(
            parse(
                    "{'id':'a','criteria':{'type':'event','eventName':'e',"
                        + "'check':'count','operator':'gte','value':10,'within':{'hours':720}}}")
                .buckets()
                .get(0));
    String changed =
        BucketJson.fingerprint(
            parse(
                    "{'id':'a','criteria':{'type':'event','eventName':'e',"
                        + "'check':'count','operator':'gte','value':11,'within':{'days':30}}}")
                .buckets()
                .get(0));
    assertThat(a)
        .hasSize(64)
        .matches("[0-9a-f]{64}")
        .isEqualTo(b)
        .isEqualTo(c)
        .isNotEqualTo(changed);
    // Known value guards against accidental changes to the canonical form across releases.
    assertThat(BucketJson.toJson(Fixtures.powerUsers().criteria()).toString())
        .isEqualTo(
            "{\"type\":\"event\",\"eventName\":\"key_action\",\"check\":\"count\",\"operator\":\"gte\","
                + "\"value\":10,\"within\":\"PT720H\"}");
    assertThat(BucketJson.fingerprint(Fixtures.powerUsers()))
        .isEqualTo(BucketJson.fingerprint(Fixtures.powerUsers()));
    BucketDefinition manual = BucketDefinition.builder("m").manual().build();
    assertThat(BucketJson.fingerprint(manual)).hasSize(64);
  }

  @Test
  void loadDirectoryReportsEveryProblemWithFileOrIdPaths(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("a-broken.json"), "{ not json");
    // Exactly three problems: bucket: event (rule 3), maxDwell < minDwell (rule 5), duplicate id
    // (rule 5).
    Files.writeString(
        dir.resolve("b-three.json"),
        ("[{'id':'dup','criteria':{'type':'event','eventName':'bucket:entered:x','check':'exists'},"
                + "'minDwell':{'days':2},'maxDwell':{'days':1}},"
                + "{'id':'dup','criteria':{'type':'property','property':'plan','operator':'eq','value':'x'}}]")
            .replace('\'', '"'));
    Files.writeString(dir.resolve("notes.txt"), "ignored");
    Files.createDirectory(dir.resolve("nested.json"));
    LoadResult r = BucketJson.load(dir);
    assertThat(r.problems())
        .extracting(Problem::path)
        .containsExactly("a-broken.json", "dup.criteria.eventName", "dup.maxDwell", "dup.id");
    assertThat(r.problems().get(0).message()).startsWith("invalid JSON");
    assertThat(r.buckets()).hasSize(2);

    Path three = dir.resolve("b-three.json");
    assertThat(BucketJson.load(three).problems()).hasSize(3);
  }

  /**
   * Unknown operator in one leg, reserved event in its sibling, minDwell > maxDwell: all three at
   * once.
   */
  static final String THREE_PROBLEMS =
      ("{'id':'my-bucket','minDwell':{'days':2},'maxDwell':{'days':1},"
              + "'criteria':{'type':'composite','operator':'and','conditions':["
              + "{'type':'property','property':'plan','operator':'sorta','value':'x'},"
              + "{'type':'event','eventName':'bucket:entered:x','check':'exists'}]}}")
          .replace('\'', '"');

  @Test
  void anUnparsableLegDoesNotHideTheProblemsOfItsSiblingsOrOfTheBucket(@TempDir Path dir)
      throws IOException {
    Path file = dir.resolve("three.json");
    Files.writeString(file, THREE_PROBLEMS);

    LoadResult r = BucketJson.load(file);

    assertThat(r.problems())
        .extracting(Problem::path)
        .containsExactly(
            "my-bucket.criteria.conditions[0].operator",
            "my-bucket.criteria.conditions[1].eventName",
            "my-bucket.maxDwell");
    assertThat(r.problems().get(0).message()).contains("unknown operator \"sorta\"");
    assertThat(r.problems().get(1).message()).contains("reserved");
    assertThat(r.problems().get(2).message()).contains("must be at least minDwell");
    // A definition with a shape problem is still never handed out.
    assertThat(r.buckets()).isEmpty();
    // parse stays shape-only.
    assertThat(BucketJson.parse(THREE_PROBLEMS, "inline").problems())
        .extracting(Problem::path)
        .containsExactly("my-bucket.criteria.conditions[0].operator");
  }

  @Test
  void aDroppedLegKeepsItsSiblingsIndexesAndIsNotReadAsMissing(@TempDir Path dir)
      throws IOException {
    // Leg 1 is not an object, leg 3 has an unknown type; legs 0, 2 and 4 parse and keep their
    // indexes.
    // Nothing else is reported: not "empty composite", not rule 2 (the dropped legs may be the
    // positive ones),
    // not fastExpiry (a dropped leg may be the windowed one).
    Files.writeString(
        dir.resolve("gaps.json"),
        ("[{'id':'gappy','fastExpiry':true,'criteria':{'type':'composite','operator':'and','conditions':["
                + "{'type':'property','property':'plan','operator':'neq','value':'x'},"
                + "'oops',"
                + "{'type':'event','eventName':'bucket:left:x','check':'exists'},"
                + "{'type':'email','opened':true},"
                + "{'type':'property','property':'plan','operator':'gt','value':'nan'}]}},"
                + "{'id':'all-dropped','kind':'dynamic','criteria':{'type':'composite','operator':'or','conditions':['x']}},"
                + "{'id':'bad-top','criteria':{'type':'nope'}},"
                + "{'id':'bad-kind','kind':'sometimes','criteria':{'type':'property','property':'p','operator':'neq','value':1}},"
                + "{'kind':'manual','criteria':{'type':'property','property':'p','operator':'sorta'}}]")
            .replace('\'', '"'));

    LoadResult r = BucketJson.load(dir);

    assertThat(r.problems())
        .extracting(Problem::toString)
        .satisfiesExactlyInAnyOrder(
            p ->
                assertThat(p)
                    .startsWith("gappy.criteria.conditions[1]: expected a condition object"),
            p ->
                assertThat(p)
                    .startsWith("gappy.criteria.conditions[3].type: unknown condition type"),
            p ->
                assertThat(p)
                    .startsWith("all-dropped.criteria.conditions[0]: expected a condition object"),
            p -> assertThat(p).startsWith("bad-top.criteria.type: unknown condition type"),
            p -> assertThat(p).startsWith("bad-kind.kind: unknown kind"),
            p -> assertThat(p).startsWith("gaps.json[4].id: is required"),
            p -> assertThat(p).startsWith("gaps.json[4].criteria.operator: unknown operator"),
            p ->
                assertThat(p)
                    .startsWith(
                        "gappy.criteria.conditions[2].eventName: event names starting with"),
            p ->
                assertThat(p)
                    .startsWith("gappy.criteria.conditions[4].value: gt compares numbers only"),
            // Given, though unparsable: a manual bucket must still have none.
            p ->
                assertThat(p)
                    .startsWith("gaps.json[4].criteria: a manual bucket must not have criteria"));
    assertThat(r.buckets()).isEmpty();
  }

  @Test
  void emptyDirectoryIsValidAndMissingPathIsNot(@TempDir Path dir) {
    assertThat(BucketJson.load(dir).ok()).isTrue();
    assertThat(BucketJson.load(dir).buckets()).isEmpty();
    assertThat(BucketJson.load(dir.resolve("nope")).problems()).hasSize(1);
  }

  @Test
  void emptyFileIsAProblem(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("empty.json"), "  ");
    assertThat(BucketJson.load(dir).problems())
        .extracting(Problem::path)
        .containsExactly("empty.json");
  }

  @Test
  void jsonNullValueIsKeptDistinctFromAbsentValue() {
    BucketDefinition d =
        parse(
                "{'id':'a','criteria':{'type':'composite','operator':'and','conditions':["
                    + "{'type':'property','property':'x','operator':'eq','value':null},"
                    + "{'type':'property','property':'y','operator':'exists'}]}}")
            .buckets()
            .get(0);
    List<Criterion> legs = d.criteria().children();
    assertThat(((PropertyCriterion) legs.get(0)).value().isNull()).isTrue();
    assertThat(((PropertyCriterion) legs.get(1)).value()).isNull();
    assertThat(d)
        .isEqualTo(
            BucketDefinition.builder("a")
                .criteria(Criteria.all(Criteria.prop("x").eq(null), Criteria.prop("y").exists()))
                .build());
  }

  @Test
  void numbersFromBuilderAndJsonAreEqualWhateverTheJavaType() {
    BucketDefinition json =
        parse("{'id':'a','criteria':{'type':'property','property':'n','operator':'gte','value':3}}")
            .buckets()
            .get(0);
    assertThat(json)
        .isEqualTo(BucketDefinition.builder("a").criteria(Criteria.prop("n").gte(3L)).build());
    assertThat(json)
        .isEqualTo(
            BucketDefinition.builder("a").criteria(Criteria.prop("n").gte((short) 3)).build());
    List<BucketDefinition> sorted =
        Fixtures.examples().stream().sorted(Comparator.comparing(BucketDefinition::id)).toList();
    assertThat(sorted).hasSize(4);
  }
}
