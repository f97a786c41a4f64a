package dev.bucketflow;

import java.time.Duration;

/**
 * How fast a dead worker's activity moves elsewhere. The server cannot tell a killed worker from a
 * slow one: without a heartbeat timeout an attempt on a dead worker is only retried after its
 * start-to-close timeout (minutes). Every activity the pipeline waits on therefore declares {@link
 * #HEARTBEAT_TIMEOUT} and its implementation heartbeats at every step (before and after each
 * transaction, per chunk, per outbox page), so the attempt of a worker that stopped heartbeating is
 * retried on another worker within seconds.
 *
 * <p>Changing activity options changes no workflow command (the options ride on the
 * ScheduleActivityTask command's attributes, which replay does not compare), so no getVersion.
 */
public final class Liveness {

  /** Longest silence of a running attempt before the server retries it elsewhere. */
  public static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(10);

  private Liveness() {}
}
