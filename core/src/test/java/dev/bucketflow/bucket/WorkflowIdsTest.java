package dev.bucketflow.bucket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WorkflowIdsTest {

  /** 256 UTF-8 bytes, the longest user id ingest accepts, in 2- and 4-byte characters. */
  static final String TWO_BYTE_256 = "é".repeat(128);

  static final String FOUR_BYTE_256 = "😀".repeat(64);
  static final String LONGEST_SLUG = "a".repeat(63);

  @Test
  void thePairsThatCollidedUnderTheFormerIdsGetDistinctIds() {
    // Both used to be bucketflow-expiry-trial-idle-u1-1 / journey-trial-idle-u1.
    assertThat(WorkflowIds.legacyExpiry("trial", "idle-u1", 1))
        .isEqualTo(WorkflowIds.legacyExpiry("trial-idle", "u1", 1));
    assertThat(WorkflowIds.legacyJourney("trial", "idle-u1"))
        .isEqualTo(WorkflowIds.legacyJourney("trial-idle", "u1"));

    assertThat(WorkflowIds.expiry("trial", "idle-u1", 1))
        .isEqualTo("bucketflow-expiry:trial:1:idle-u1");
    assertThat(WorkflowIds.expiry("trial-idle", "u1", 1))
        .isEqualTo("bucketflow-expiry:trial-idle:1:u1");
    assertThat(WorkflowIds.journey("trial", "idle-u1")).isEqualTo("journey:trial:idle-u1");
    assertThat(WorkflowIds.journey("trial-idle", "u1")).isEqualTo("journey:trial-idle:u1");
    // The epoch sits before the user id, so a user id ending in "-<n>" cannot pose as an epoch.
    assertThat(WorkflowIds.expiry("b", "u-1", 2)).isNotEqualTo(WorkflowIds.expiry("b", "u", 1));
  }

  @Test
  void separatorsInsideUserIdsAndSpelledOutHashesStayDistinct() {
    String hashedForm = "sha256:" + "0".repeat(64);
    List<String> ids =
        List.of(
            WorkflowIds.expiry("b", "1:u", 2),
            WorkflowIds.expiry("b", "u", 21),
            WorkflowIds.expiry("b", "2:1:u", 1),
            WorkflowIds.expiry("b", hashedForm, 1),
            WorkflowIds.expiry("b", "#" + hashedForm, 1),
            WorkflowIds.expiry("b", "a".repeat(129), 1),
            WorkflowIds.expiry("b", "a".repeat(128), 1),
            WorkflowIds.journey("j", "x:y"),
            WorkflowIds.journey("j-x", "y"),
            WorkflowIds.journey("j", hashedForm),
            WorkflowIds.journey("j", "a".repeat(129)),
            WorkflowIds.legacyExpiry("b", "u", 1),
            WorkflowIds.legacyJourney("j", "x:y"));
    Set<String> distinct = new HashSet<>(ids);
    assertThat(distinct).hasSameSizeAs(ids);
    assertThat(WorkflowIds.journey("j", hashedForm)).isEqualTo("journey:j:" + hashedForm);
  }

  // Golden values (hashes from an independent sha256 tool): other clients compute these ids.
  @Test
  void userIdsOverTheRawLimitAreReplacedByTheirSha256() {
    assertThat(WorkflowIds.expiry("trial", "a".repeat(128), 3))
        .isEqualTo("bucketflow-expiry:trial:3:" + "a".repeat(128));
    assertThat(WorkflowIds.expiry("trial", "a".repeat(129), 3))
        .isEqualTo(
            "bucketflow-expiry:trial:3#sha256:c12cb024a2e5551cca0e08fce8f1c5e314555cc3fef6329ee994a3db752166ae");
    assertThat(WorkflowIds.expiry("trial", TWO_BYTE_256, 1))
        .isEqualTo(
            "bucketflow-expiry:trial:1#sha256:e42dd264fd5cf1bc947505b995dceb9ae0a2d2a4c99b4ce5ea02f36526819280");
    assertThat(WorkflowIds.journey("winback", FOUR_BYTE_256))
        .isEqualTo(
            "journey:winback#sha256:ddcaf348bb60ef25aa1e14c087a1638892e78b88d278d3c15381e41d93ea6876");
    // Bytes count, not chars: 64 four-byte characters are 64 chars but 256 bytes.
    assertThat(WorkflowIds.journey("winback", "😀".repeat(32)))
        .isEqualTo("journey:winback:" + "😀".repeat(32));
    assertThat(WorkflowIds.journey("winback", "😀".repeat(33)))
        .startsWith("journey:winback#sha256:");
  }

  @Test
  void noIdPassesTheBoundWhateverTheUserId() {
    assertThat(WorkflowIds.MAX_BYTES).isEqualTo(222).isLessThan(255);
    for (String user :
        List.of(
            TWO_BYTE_256,
            FOUR_BYTE_256,
            "u".repeat(256),
            "u".repeat(10_000),
            "a".repeat(128),
            "é".repeat(64),
            "😀".repeat(32))) {
      for (int epoch : new int[] {1, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
        assertThat(WorkflowIds.utf8Length(WorkflowIds.expiry(LONGEST_SLUG, user, epoch)))
            .isLessThanOrEqualTo(WorkflowIds.MAX_BYTES);
      }
      assertThat(WorkflowIds.utf8Length(WorkflowIds.journey(LONGEST_SLUG, user)))
          .isLessThanOrEqualTo(WorkflowIds.MAX_BYTES);
    }
    assertThat(
            WorkflowIds.utf8Length(
                WorkflowIds.expiry(LONGEST_SLUG, "a".repeat(128), Integer.MIN_VALUE)))
        .isEqualTo(WorkflowIds.MAX_BYTES);
  }

  @Test
  void aNonSlugIdIsRefusedRatherThanRiskingACollision() {
    assertThatThrownBy(() -> WorkflowIds.expiry("a:b", "u", 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> WorkflowIds.journey("a#b", "u"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> WorkflowIds.journey("a".repeat(64), "u"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> WorkflowIds.journey("j", null))
        .isInstanceOf(NullPointerException.class);
  }
}
