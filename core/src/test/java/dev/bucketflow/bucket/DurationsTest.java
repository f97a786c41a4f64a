package dev.bucketflow.bucket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {
  static final ObjectMapper M = new ObjectMapper();

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"days\":30}                                   | PT720H",
        "\"P30D\"                                        | PT720H",
        "\"PT12H\"                                       | PT12H",
        "\"P1DT2H\"                                      | PT26H",
        "{\"hours\":12}                                  | PT12H",
        "{\"days\":1,\"hours\":2,\"minutes\":3,\"seconds\":4} | PT26H3M4S",
        "{\"minutes\":0}                                 | PT0S",
      })
  void parsesObjectsAndIso(String json, String expected) throws Exception {
    assertThat(Durations.parse(M.readTree(json))).isEqualTo(Duration.parse(expected));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{}",
        "{\"weeks\":1}",
        "{\"days\":-1}",
        "{\"days\":1.5}",
        "{\"days\":\"1\"}",
        "\"30d\"",
        "\"P1M\"",
        "\"P1Y\"",
        "\"-PT1H\"",
        "30",
        "true",
        "null",
        "[1]"
      })
  void rejectsWithAClearMessage(String json) throws Exception {
    assertThatThrownBy(() -> Durations.parse(M.readTree(json)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining("Exception");
  }

  @org.junit.jupiter.api.Test
  void helpers() {
    assertThat(Durations.days(2)).isEqualTo(Duration.ofHours(48));
    assertThat(Durations.hours(1)).isEqualTo(Durations.minutes(60));
    assertThat(Durations.minutes(1)).isEqualTo(Durations.seconds(60));
  }

  @org.junit.jupiter.api.Test
  void aDurationBeyondTheBoundIsRefusedWhicheverSpelling() throws Exception {
    assertThat(Durations.parse(M.readTree("{\"days\":36500}"))).isEqualTo(Durations.MAX);
    assertThatThrownBy(() -> Durations.parse(M.readTree("{\"days\":36501}")))
        .hasMessageContaining("at most 36500 days");
    assertThatThrownBy(() -> Durations.parse(M.readTree("\"P1000000D\"")))
        .hasMessageContaining("at most 36500 days");
    assertThatThrownBy(
            () -> Durations.parse(M.readTree("{\"seconds\":9223372036854775807,\"days\":1}")))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
