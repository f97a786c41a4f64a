package dev.bucketflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What boot loads: definitions whose bucket conditions form a cycle stop the worker with the
 * cycle's path.
 */
class ContentTest {

  @Test
  void aCycleOfBucketConditionsAcrossFilesIsRefusedAtBootWithItsPath(@TempDir Path dir)
      throws Exception {
    Files.writeString(
        dir.resolve("a.json"),
        """
        {"id": "power", "criteria": {"type": "composite", "operator": "and", "conditions": [
          {"type": "bucket", "bucketId": "loyal", "check": "member"},
          {"type": "event", "eventName": "purchase", "check": "exists"}]}}
        """);
    Files.writeString(
        dir.resolve("b.json"),
        """
        {"id": "loyal", "criteria": {"type": "bucket", "bucketId": "power", "check": "member"}}
        """);
    assertThatThrownBy(() -> Content.buckets(dir, "*"))
        .isInstanceOf(Content.InvalidContent.class)
        .hasMessageContaining(
            "loyal.criteria: bucket conditions form a cycle: loyal -> power -> loyal");
  }

  @Test
  void acyclicBucketConditionsLoad(@TempDir Path dir) throws Exception {
    Files.writeString(
        dir.resolve("a.json"),
        """
        [{"id": "buyers", "criteria": {"type": "event", "eventName": "purchase", "check": "exists"}},
         {"id": "buyers-not-vip", "criteria": {"type": "composite", "operator": "and", "conditions": [
           {"type": "bucket", "bucketId": "buyers", "check": "member"},
           {"type": "bucket", "bucketId": "vip", "check": "not_member"}]}},
         {"id": "vip", "kind": "manual"}]
        """);
    assertThat(Content.buckets(dir, "*"))
        .extracting(b -> b.id())
        .containsExactly("buyers", "buyers-not-vip", "vip");
  }
}
