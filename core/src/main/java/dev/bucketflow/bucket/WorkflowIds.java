package dev.bucketflow.bucket;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The workflow ids of fast-expiry watches and journey runs (DESIGN §13: no two (bucket or journey,
 * user) pairs share an id, and every id stays far below Temporal's 1,000-byte limit). Part of the
 * wire contract: other clients may compute these, so the encoding is fixed:
 *
 * <pre>
 *   bucketflow-expiry:&lt;bucketId&gt;:&lt;epoch&gt;:&lt;userId&gt;        user id of at most 128 UTF-8 bytes
 *   bucketflow-expiry:&lt;bucketId&gt;:&lt;epoch&gt;#sha256:&lt;hex&gt;     longer user id
 *   journey:&lt;journeyId&gt;:&lt;userId&gt;
 *   journey:&lt;journeyId&gt;#sha256:&lt;hex&gt;
 * </pre>
 *
 * <p>Why it cannot collide: bucket and journey ids are slugs ({@link BucketValidator#ID_PATTERN}),
 * so neither {@code :} nor {@code #} occurs in them, and the epoch is a canonical decimal. Reading
 * left to right, the first {@code :} or {@code #} after the slug (and after the epoch) ends it, and
 * that character says whether the rest is the raw user id ({@code :}, taken verbatim to the end, so
 * a user id may contain anything) or {@code sha256:} and the 64 lower-case hex digits of SHA-256
 * over the user id's UTF-8 bytes ({@code #}). A raw id and a hashed id therefore never meet, even
 * when a user id spells out another's hashed form.
 *
 * <p>Why 128 bytes: with a 63-byte slug and an 11-character epoch the longest id is 222 bytes
 * ({@link #MAX_BYTES}), which also fits servers run with the common {@code limit.maxIDLength: 255}.
 * Typical user ids (UUIDs, e-mail addresses, provider ids) stay readable; the memo of each workflow
 * always carries the full user id.
 *
 * <p>Before this encoding the ids were {@code bucketflow-expiry-<bucket>-<user>-<epoch>} and {@code
 * journey-<journey>-<user>} ({@link #legacyExpiry}, {@link #legacyJourney}). They differ from every
 * new id (the character after the prefix word is {@code -}, not {@code :}), so runs started under
 * them live on untouched; see the callers for how those runs are still reached.
 */
public final class WorkflowIds {

  /** Prefix of every fast-expiry watch id. */
  public static final String EXPIRY_PREFIX = "bucketflow-expiry:";

  /** Prefix of every journey run id. */
  public static final String JOURNEY_PREFIX = "journey:";

  /** User ids up to this many UTF-8 bytes appear verbatim; longer ones are hashed. */
  public static final int RAW_USER_ID_MAX_BYTES = 128;

  /** No id built here is longer than this many UTF-8 bytes (Temporal refuses more than 1,000). */
  public static final int MAX_BYTES =
      EXPIRY_PREFIX.length() + 63 + 1 + 11 + 1 + RAW_USER_ID_MAX_BYTES;

  /**
   * Id of the watch of one membership epoch: {@code bucketflow-expiry:<bucketId>:<epoch>:<userId>}.
   */
  public static String expiry(String bucketId, String userId, int epoch) {
    return EXPIRY_PREFIX + slug(bucketId, "bucketId") + ":" + epoch + user(userId);
  }

  /** Id of the one open run per (journey, user): {@code journey:<journeyId>:<userId>}. */
  public static String journey(String journeyId, String userId) {
    return JOURNEY_PREFIX + slug(journeyId, "journeyId") + user(userId);
  }

  /** The former expiry id, ambiguous and unbounded: only to reach watches started under it. */
  public static String legacyExpiry(String bucketId, String userId, int epoch) {
    return "bucketflow-expiry-" + bucketId + "-" + userId + "-" + epoch;
  }

  /** The former journey id; {@code journey_states} rows written before the change still hold it. */
  public static String legacyJourney(String journeyId, String userId) {
    return "journey-" + journeyId + "-" + userId;
  }

  /** UTF-8 length of an id, the unit Temporal's {@code limit.maxIDLength} counts in. */
  public static int utf8Length(String id) {
    return id.getBytes(StandardCharsets.UTF_8).length;
  }

  /**
   * The user segment with its discriminating separator: {@code :<userId>} or {@code #sha256:<hex>}.
   */
  private static String user(String userId) {
    Objects.requireNonNull(userId, "userId");
    byte[] utf8 = userId.getBytes(StandardCharsets.UTF_8);
    if (utf8.length <= RAW_USER_ID_MAX_BYTES) return ":" + userId;
    return "#sha256:" + HexFormat.of().formatHex(sha256(utf8));
  }

  // A non-slug could hold ':' or '#' and break the unambiguity argument, or be long enough to
  // pass the bound; validated definitions never are, so this only guards programming errors.
  private static String slug(String id, String what) {
    Objects.requireNonNull(id, what);
    if (!BucketValidator.ID_PATTERN.matcher(id).matches()) {
      throw new IllegalArgumentException(what + " must be a slug: " + id);
    }
    return id;
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM ships SHA-256", e);
    }
  }

  private WorkflowIds() {}
}
