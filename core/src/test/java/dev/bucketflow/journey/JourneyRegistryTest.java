package dev.bucketflow.journey;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class JourneyRegistryTest {
  static JourneyDefinition j(String id, String trigger, String... exits) {
    return JourneyDefinition.builder(id)
        .triggerEvent(trigger)
        .exitOn(exits)
        .workflowType("T")
        .build();
  }

  final JourneyDefinition winback =
      j("winback", "bucket:entered:went-dormant", "bucket:left:went-dormant", "purchase");
  final JourneyDefinition welcome =
      j("welcome", "bucket:entered:power-users", "bucket:left:power-users");
  final JourneyDefinition onboard = j("onboard", "signup", "purchase");
  final JourneyDefinition off =
      JourneyDefinition.builder("off")
          .triggerEvent("signup")
          .exitOn("churn")
          .workflowType("T")
          .enabled(false)
          .build();

  @Test
  void indexesTriggersAndExits() {
    JourneyRegistry r = new JourneyRegistry(List.of(winback, welcome, onboard, off));
    assertThat(r.triggeredBy("bucket:entered:went-dormant")).containsExactly(winback);
    assertThat(r.triggeredBy("signup")).containsExactly(onboard);
    assertThat(r.triggeredBy("purchase")).isEmpty();
    assertThat(r.triggeredBy(null)).isEmpty();
    // Sorted by id.
    assertThat(r.exitedBy("purchase")).containsExactly(onboard, winback);
    assertThat(r.exitedBy("bucket:left:power-users")).containsExactly(welcome);
    assertThat(r.exitedBy("signup")).isEmpty();
    assertThat(r.listensTo("purchase")).isTrue();
    assertThat(r.listensTo("signup")).isTrue();
    assertThat(r.listensTo("page_view")).isFalse();
    assertThat(r.eventNames())
        .containsExactly(
            "bucket:entered:power-users",
            "bucket:entered:went-dormant",
            "bucket:left:power-users",
            "bucket:left:went-dormant",
            "purchase",
            "signup");
  }

  @Test
  void disabledJourneysAreLeftOut() {
    JourneyRegistry r = new JourneyRegistry(List.of(winback, welcome, onboard, off));
    assertThat(r.all()).containsExactly(onboard, welcome, winback);
    assertThat(r.size()).isEqualTo(3);
    assertThat(r.byId("winback")).contains(winback);
    assertThat(r.byId("off")).isEmpty();
    assertThat(r.byId("nope")).isEmpty();
    assertThat(r.listensTo("churn")).isFalse();
    assertThat(new JourneyRegistry(List.of(off)).eventNames()).isEmpty();
  }

  @Test
  void genericTransitionsOnlyWhenBoundExactly() {
    JourneyRegistry specific = new JourneyRegistry(List.of(winback, welcome));
    assertThat(specific.wantsGenericTransition("bucket:entered")).isFalse();
    assertThat(specific.wantsGenericTransition("bucket:left")).isFalse();

    JourneyRegistry onEntered = new JourneyRegistry(List.of(j("any-entry", "bucket:entered")));
    assertThat(onEntered.wantsGenericTransition("bucket:entered")).isTrue();
    assertThat(onEntered.wantsGenericTransition("bucket:left")).isFalse();

    JourneyRegistry onLeft = new JourneyRegistry(List.of(j("x", "signup", "bucket:left")));
    assertThat(onLeft.wantsGenericTransition("bucket:left")).isTrue();
    assertThat(onLeft.wantsGenericTransition("bucket:entered")).isFalse();

    // Only the two generic names qualify, even when some journey listens to the name.
    assertThat(new JourneyRegistry(List.of(onboard)).wantsGenericTransition("signup")).isFalse();
    assertThat(specific.wantsGenericTransition("bucket:entered:went-dormant")).isFalse();
    assertThat(specific.wantsGenericTransition(null)).isFalse();
    // A disabled generic journey does not ask for the rows.
    JourneyDefinition disabled =
        JourneyDefinition.builder("d")
            .triggerEvent("bucket:entered")
            .workflowType("T")
            .enabled(false)
            .build();
    assertThat(new JourneyRegistry(List.of(disabled)).wantsGenericTransition("bucket:entered"))
        .isFalse();
  }

  @Test
  void repeatedExitEventIndexesTheJourneyOnce() {
    JourneyRegistry r = new JourneyRegistry(List.of(j("a", "t", "x", "x")));
    assertThat(r.exitedBy("x")).hasSize(1);
  }

  @Test
  void duplicateEnabledIdsAreRejected() {
    assertThatThrownBy(() -> new JourneyRegistry(List.of(onboard, onboard)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("onboard");
    JourneyDefinition disabledTwin = JourneyDefinition.builder("onboard").enabled(false).build();
    assertThat(new JourneyRegistry(List.of(onboard, disabledTwin)).all()).containsExactly(onboard);
  }

  @Test
  void returnedCollectionsAreImmutable() {
    JourneyRegistry r = new JourneyRegistry(List.of(winback));
    assertThatThrownBy(() -> r.triggeredBy("bucket:entered:went-dormant").clear())
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> r.eventNames().clear())
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> r.all().clear()).isInstanceOf(UnsupportedOperationException.class);
  }
}
