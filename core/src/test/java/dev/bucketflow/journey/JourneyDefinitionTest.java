package dev.bucketflow.journey;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.Durations;
import dev.bucketflow.bucket.EntryLimit;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JourneyDefinitionTest {

  @Test
  void builderDefaults() {
    JourneyDefinition d =
        JourneyDefinition.builder("j").triggerEvent("signup").workflowType("T").build();
    assertThat(d.exitOn()).isEmpty();
    assertThat(d.taskQueue()).isNull();
    assertThat(d.entryLimit()).isEqualTo(EntryLimit.UNLIMITED);
    assertThat(d.entryPeriod()).isNull();
    assertThat(d.enabled()).isTrue();
    assertThat(d.settings()).isEqualTo(JsonNodeFactory.instance.objectNode());
  }

  @Test
  void nullComponentsBecomeDefaults() {
    JourneyDefinition d = new JourneyDefinition("j", "e", null, "T", null, null, null, true, null);
    assertThat(d.exitOn()).isEmpty();
    assertThat(d.entryLimit()).isEqualTo(EntryLimit.UNLIMITED);
    assertThat(d.settings().isEmpty()).isTrue();
    assertThat(d)
        .isEqualTo(JourneyDefinition.builder("j").triggerEvent("e").workflowType("T").build());
    assertThatThrownBy(() -> JourneyDefinition.builder(null))
        .isInstanceOf(NullPointerException.class);
  }

  @Test
  void workflowIdAndTaskQueue() {
    JourneyDefinition own = JourneyDefinition.builder("winback").build();
    assertThat(own.workflowId("u-42")).isEqualTo("journey:winback:u-42");
    assertThat(own.taskQueueOr("bucketflow")).isEqualTo("bucketflow");
    assertThat(own.onQueue("bucketflow")).isTrue();

    JourneyDefinition other = JourneyDefinition.builder("py").taskQueue("python-journeys").build();
    assertThat(other.taskQueueOr("bucketflow")).isEqualTo("python-journeys");
    assertThat(other.onQueue("bucketflow")).isFalse();
    assertThat(other.onQueue("python-journeys")).isTrue();
  }

  @Test
  void settingsAreCopiedSoTheDefinitionStaysImmutable() {
    ObjectNode s = JsonNodeFactory.instance.objectNode().put("template", "a");
    JourneyDefinition d = JourneyDefinition.builder("j").settings(s).build();
    s.put("template", "changed");
    assertThat(d.settings().get("template").textValue()).isEqualTo("a");
    d.settings().put("template", "changed too");
    assertThat(d.settings().get("template").textValue()).isEqualTo("a");

    List<String> exits = new java.util.ArrayList<>(List.of("x"));
    JourneyDefinition e = new JourneyDefinition("j", "t", exits, "T", null, null, null, true, null);
    exits.add("y");
    assertThat(e.exitOn()).containsExactly("x");
    assertThatThrownBy(() -> e.exitOn().add("z")).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void settingConvertsValues() {
    JourneyDefinition d =
        JourneyDefinition.builder("j")
            .setting("s", "x")
            .setting("n", 3)
            .setting("b", true)
            .setting("nothing", null)
            .setting("map", Map.of("days", 2))
            .setting("node", JsonNodeFactory.instance.objectNode().put("k", 1))
            .setting("wait", Duration.ofDays(3))
            .build();
    ObjectNode s = d.settings();
    assertThat(s.get("s").textValue()).isEqualTo("x");
    assertThat(s.get("n").intValue()).isEqualTo(3);
    assertThat(s.get("b").booleanValue()).isTrue();
    assertThat(s.get("nothing").isNull()).isTrue();
    assertThat(s.get("map").get("days").intValue()).isEqualTo(2);
    assertThat(s.get("node").get("k").intValue()).isEqualTo(1);
    // Durations become ISO strings that the shared duration parser reads back.
    assertThat(s.get("wait").textValue()).isEqualTo("PT72H");
    assertThat(Durations.parse(s.get("wait"))).isEqualTo(Duration.ofDays(3));
  }

  @Test
  void oncePerSetsLimitAndPeriod() {
    JourneyDefinition d = JourneyDefinition.builder("j").oncePer(Duration.ofDays(7)).build();
    assertThat(d.entryLimit()).isEqualTo(EntryLimit.ONCE_PER_PERIOD);
    assertThat(d.entryPeriod()).isEqualTo(Duration.ofDays(7));
  }
}
