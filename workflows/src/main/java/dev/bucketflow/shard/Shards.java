package dev.bucketflow.shard;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/** The public shard function: {@code floorMod(crc32(utf8(userId)), shards)}, crc32 unsigned. */
public final class Shards {

  public static final int DEFAULT_SHARDS = 8;

  /** Ingest shard workflow ids are this and the shard number (public contract). */
  public static final String INGEST_ID_PREFIX = "bucketflow-ingest-";

  public static int shardOf(String userId, int shards) {
    CRC32 crc = new CRC32();
    crc.update(userId.getBytes(StandardCharsets.UTF_8));
    return (int) Math.floorMod(crc.getValue(), (long) shards);
  }

  public static String workflowId(int shard) {
    return INGEST_ID_PREFIX + shard;
  }

  /** Reads the shard from a workflow id; the start argument carries none. */
  public static int shardFromWorkflowId(String workflowId) {
    try {
      return Integer.parseInt(workflowId.substring(workflowId.lastIndexOf('-') + 1));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private Shards() {}
}
