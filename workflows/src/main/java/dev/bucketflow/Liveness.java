package dev.bucketflow;

import io.temporal.common.RetryOptions;
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

  /**
   * Longest wait between two attempts of a per-shard pipeline activity (ingest, delivery). They
   * serve a real-time path, so after a crash or an outage a shard resumes within seconds: with the
   * SDK's default backoff (doubling up to 100x the first interval) an attempt that had failed a few
   * times, e.g. across repeated worker kills, waited 16-30 s before its next try ({@code
   * DeliveryKillIT} stalled that long after its last kill). At 5 s an outage costs each shard one
   * attempt per 5 s, which no database notices.
   */
  public static final Duration RETRY_MAX_INTERVAL = Duration.ofSeconds(5);

  /** Retries forever, from 1 s, doubling up to {@link #RETRY_MAX_INTERVAL}. */
  public static RetryOptions retryForever() {
    return RetryOptions.newBuilder()
        .setInitialInterval(Duration.ofSeconds(1))
        .setMaximumInterval(RETRY_MAX_INTERVAL)
        .build();
  }

  private Liveness() {}
}
