package dev.bucketflow.bucket;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.any;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class EvaluatorTest {
  static final ObjectMapper M = new ObjectMapper();
  static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");

  static UserState props(String json) {
    try {
      return new UserState((ObjectNode) M.readTree(json), Map.of());
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  static Stream<Arguments> propertyCases() {
    return Stream.of(
        // eq: type strict, numeric across representations
        Arguments.of("eq string", prop("plan").eq("trial"), "{\"plan\":\"trial\"}", true),
        Arguments.of("eq other string", prop("plan").eq("trial"), "{\"plan\":\"pro\"}", false),
        Arguments.of("eq \"3\" vs 3", prop("n").eq(3), "{\"n\":\"3\"}", false),
        Arguments.of("eq 3 vs \"3\"", prop("n").eq("3"), "{\"n\":3}", false),
        Arguments.of("eq 3 vs 3.0", prop("n").eq(3), "{\"n\":3.0}", true),
        Arguments.of("eq 3.0 vs 3", prop("n").eq(3.0), "{\"n\":3}", true),
        Arguments.of("eq big long", prop("n").eq(10_000_000_000L), "{\"n\":10000000000}", true),
        Arguments.of("eq true vs \"true\"", prop("b").eq(true), "{\"b\":\"true\"}", false),
        Arguments.of("eq true vs true", prop("b").eq(true), "{\"b\":true}", true),
        Arguments.of("eq null vs null", prop("x").eq(null), "{\"x\":null}", true),
        Arguments.of("eq null vs missing", prop("x").eq(null), "{}", false),
        Arguments.of("eq null vs 0", prop("x").eq(null), "{\"x\":0}", false),
        Arguments.of("eq missing", prop("plan").eq("trial"), "{}", false),
        Arguments.of("eq array numeric", prop("a").eq(List.of(1, 2)), "{\"a\":[1.0,2]}", true),
        Arguments.of("eq object", prop("o").eq(Map.of("k", "v")), "{\"o\":{\"k\":\"v\"}}", true),
        // neq = !eq
        Arguments.of("neq missing", prop("converted").neq(true), "{}", true),
        Arguments.of("neq same", prop("converted").neq(true), "{\"converted\":true}", false),
        Arguments.of(
            "neq different type", prop("converted").neq(true), "{\"converted\":\"true\"}", true),
        Arguments.of("neq 3 vs 3.0", prop("n").neq(3), "{\"n\":3.0}", false),
        Arguments.of("neq null vs null", prop("x").neq(null), "{\"x\":null}", false),
        // ordering: numbers only
        Arguments.of("gt", prop("n").gt(3), "{\"n\":4}", true),
        Arguments.of("gt equal", prop("n").gt(3), "{\"n\":3.0}", false),
        Arguments.of("gt string number", prop("n").gt(3), "{\"n\":\"4\"}", false),
        Arguments.of("gt missing", prop("n").gt(3), "{}", false),
        Arguments.of("gt null", prop("n").gt(3), "{\"n\":null}", false),
        Arguments.of("gte equal", prop("n").gte(3), "{\"n\":3}", true),
        Arguments.of("gte decimal", prop("n").gte(2.5), "{\"n\":2.5}", true),
        Arguments.of("gte below", prop("n").gte(3), "{\"n\":2.999}", false),
        Arguments.of("lt", prop("n").lt(3), "{\"n\":2}", true),
        Arguments.of("lt equal", prop("n").lt(3), "{\"n\":3}", false),
        Arguments.of("lt boolean", prop("n").lt(3), "{\"n\":false}", false),
        Arguments.of("lt missing", prop("n").lt(3), "{}", false),
        Arguments.of("lte equal", prop("n").lte(3), "{\"n\":3.0}", true),
        Arguments.of("lte above", prop("n").lte(3), "{\"n\":4}", false),
        Arguments.of("lte negative", prop("n").lte(3), "{\"n\":-10}", true),
        // exists / not_exists
        Arguments.of("exists present", prop("x").exists(), "{\"x\":0}", true),
        Arguments.of("exists empty string", prop("x").exists(), "{\"x\":\"\"}", true),
        Arguments.of("exists null", prop("x").exists(), "{\"x\":null}", false),
        Arguments.of("exists missing", prop("x").exists(), "{}", false),
        Arguments.of("not_exists missing", prop("x").notExists(), "{}", true),
        Arguments.of("not_exists null", prop("x").notExists(), "{\"x\":null}", true),
        Arguments.of("not_exists present", prop("x").notExists(), "{\"x\":false}", false),
        // contains: strings only
        Arguments.of(
            "contains", prop("email").contains("@acme."), "{\"email\":\"a@acme.io\"}", true),
        Arguments.of(
            "contains no", prop("email").contains("@acme."), "{\"email\":\"a@b.io\"}", false),
        Arguments.of("contains non-string", prop("n").contains("3"), "{\"n\":1234}", false),
        Arguments.of("contains array", prop("tags").contains("a"), "{\"tags\":[\"a\"]}", false),
        Arguments.of("contains missing", prop("n").contains("3"), "{}", false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("propertyCases")
  void propertyOperators(String name, Criterion c, String state, boolean expected) {
    assertThat(Evaluator.matches(c, props(state), NOW)).isEqualTo(expected);
  }

  static UserState events(Duration... agesBeforeNow) {
    UserState s = UserState.empty();
    for (Duration age : agesBeforeNow) {
      s.recordEvent("e", NOW.minus(age));
    }
    return s;
  }

  static final Duration D7 = Duration.ofDays(7);

  static Stream<Arguments> eventCases() {
    Duration d1 = Duration.ofDays(1);
    Duration d10 = Duration.ofDays(10);
    return Stream.of(
        Arguments.of("exists none", event("e").exists(), events(), false),
        Arguments.of("exists all time", event("e").exists(), events(d10), true),
        Arguments.of("exists within, outside", event("e").within(D7).exists(), events(d10), false),
        Arguments.of("exists within, inside", event("e").within(D7).exists(), events(d1), true),
        Arguments.of("not_exists none", event("e").notExists(), events(), true),
        Arguments.of("not_exists all time", event("e").notExists(), events(d10), false),
        Arguments.of(
            "not_exists within, old only", event("e").within(D7).notExists(), events(d10), true),
        Arguments.of(
            "not_exists within, recent", event("e").within(D7).notExists(), events(d10, d1), false),
        Arguments.of("count no operator, none", event("e").count(), events(), false),
        Arguments.of("count no operator, one", event("e").count(), events(d10), true),
        Arguments.of("count no operator within", event("e").within(D7).count(), events(d10), false),
        Arguments.of(
            "count gte 2 yes", event("e").within(D7).atLeast(2), events(d1, d1, d10), true),
        Arguments.of(
            "count gte 3 no", event("e").within(D7).atLeast(3), events(d1, d1, d10), false),
        Arguments.of("count gte 3 all time", event("e").atLeast(3), events(d1, d1, d10), true),
        Arguments.of("count gt 1", event("e").count(CountOperator.GT, 1), events(d1, d1), true),
        Arguments.of("count gt 2", event("e").count(CountOperator.GT, 2), events(d1, d1), false),
        Arguments.of("count lt 2 (zero)", event("e").count(CountOperator.LT, 2), events(), true),
        Arguments.of("count lt 2", event("e").count(CountOperator.LT, 2), events(d1, d1), false),
        Arguments.of("count lte 2", event("e").count(CountOperator.LTE, 2), events(d1, d1), true),
        Arguments.of("count eq 2", event("e").count(CountOperator.EQ, 2), events(d1, d1), true),
        Arguments.of(
            "count eq 2 within",
            event("e").within(D7).count(CountOperator.EQ, 2),
            events(d1, d1, d10),
            true),
        Arguments.of("count eq 0", event("e").count(CountOperator.EQ, 0), events(), true),
        Arguments.of("other event ignored", event("other").exists(), events(d1), false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("eventCases")
  void eventChecks(String name, Criterion c, UserState state, boolean expected) {
    assertThat(Evaluator.matches(c, state, NOW)).isEqualTo(expected);
  }

  @Test
  void windowIsExclusiveAtTheStartAndUnboundedAbove() {
    Criterion c = event("e").within(D7).exists();
    assertThat(Evaluator.matches(c, events(D7), NOW))
        .as("exactly now - within is outside")
        .isFalse();
    assertThat(Evaluator.matches(c, events(D7.minusMillis(1)), NOW)).isTrue();
    UserState future = UserState.empty();
    future.recordEvent("e", NOW.plusSeconds(60));
    assertThat(Evaluator.matches(c, future, NOW)).as("no upper bound").isTrue();
  }

  @Test
  void compositesNestFreely() {
    UserState s = props("{\"plan\":\"trial\",\"trial_days_left\":2}");
    s.recordEvent("e", NOW.minusSeconds(10));
    Criterion trialEnding =
        all(prop("plan").eq("trial"), prop("trial_days_left").lte(3), prop("converted").neq(true));
    assertThat(Evaluator.matches(trialEnding, s, NOW)).isTrue();
    assertThat(Evaluator.matches(all(trialEnding, prop("x").exists()), s, NOW)).isFalse();
    assertThat(
            Evaluator.matches(
                any(prop("x").exists(), all(trialEnding, event("e").exists())), s, NOW))
        .isTrue();
    assertThat(Evaluator.matches(any(prop("x").exists(), event("f").exists()), s, NOW)).isFalse();
    assertThat(Evaluator.matches(all(), s, NOW)).isTrue();
    assertThat(Evaluator.matches(any(), s, NOW)).isFalse();
  }

  @Test
  void mergedPropertiesLaterWinsAndNullMeansAbsent() {
    UserState s = props("{\"plan\":\"trial\",\"seats\":2}");
    s.mergeProperties((ObjectNode) M.valueToTree(Map.of("plan", "pro")));
    assertThat(Evaluator.matches(prop("plan").eq("pro"), s, NOW)).isTrue();
    assertThat(Evaluator.matches(prop("seats").eq(2), s, NOW))
        .as("shallow merge keeps other keys")
        .isTrue();
    ObjectNode nulled = M.createObjectNode().putNull("seats");
    s.mergeProperties(nulled);
    assertThat(Evaluator.matches(prop("seats").exists(), s, NOW)).isFalse();
  }

  @Test
  void countWithOperatorButNoValueIsAProgrammingError() {
    Criterion broken = new EventCriterion("e", EventCheck.COUNT, CountOperator.GTE, null, null);
    assertThatThrownBy(() -> Evaluator.matches(broken, events(), NOW))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void evaluatingAWindowLongerThanTheLoadedHistoryFailsLoudly() {
    UserState s =
        new UserState(
            null, Map.of("e", new EventSeries(5, NOW.minus(Duration.ofDays(3)), List.of())));
    assertThat(Evaluator.matches(event("e").exists(), s, NOW)).isTrue();
    assertThat(Evaluator.matches(event("e").within(Duration.ofDays(2)).exists(), s, NOW)).isFalse();
    assertThatThrownBy(() -> Evaluator.matches(event("e").within(D7).exists(), s, NOW))
        .isInstanceOf(IllegalStateException.class);
  }
}
