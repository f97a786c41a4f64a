package dev.bucketflow.dispatch;

import dev.bucketflow.delivery.DeliveryPass;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers committed outbox rows to their targets, one delivery shard per pass (DESIGN §13).
 *
 * <ul>
 *   <li><b>One deliverer per shard</b>: a pass runs under the shard's {@link DeliveryLease}; a pass
 *       that finds it held returns {@link DeliveryPass#busy()} and delivers nothing.
 *   <li><b>Commit order per user</b>: rows are read in id order; a user's first row that is not
 *       delivered (failed now, or waiting for its retry) blocks that user's later rows for the rest
 *       of the pass, across every stream. Other users' rows go on.
 *   <li><b>Durable</b>: a row is marked dispatched only after every target returned. A failure
 *       records the attempt, its error and the retry time (backoff); after {@link
 *       DeliverySettings#maxAttempts()} the row is <em>parked</em> ({@code parked_at}, visible in
 *       {@code bucketflow outbox}) and no longer holds its user back.
 *   <li><b>No network under row locks</b>: rows are read and updated in short autocommit
 *       statements; targets are called with no transaction open, and never with a second pooled
 *       connection held.
 * </ul>
 */
public final class OutboxDispatcher {

  private static final Logger log = LoggerFactory.getLogger(OutboxDispatcher.class);

  /** Lease key of {@link #drain()}, which sees every row as one shard. */
  static final int WHOLE_OUTBOX = -1;

  private static final int ERROR_CHARS = 2000;

  /**
   * Delivered rows are marked every this many, not once per page: a pass slowed by yielding to
   * ingest would otherwise leave up to a page delivered but unmarked for many seconds (re-delivered
   * after a crash, idempotently, and counted as pending by {@code outbox} meanwhile).
   */
  static final int MARK_EVERY = 50;

  private final DSLContext dsl;
  private final List<OutboxStream<?>> streams;
  private final List<DeliveryStep> steps;
  private final DeliverySettings settings;
  private final Clock clock;
  private final DeliveryYield yieldToIngest;

  public OutboxDispatcher(
      DSLContext dsl,
      List<OutboxStream<?>> streams,
      List<DeliveryStep> steps,
      DeliverySettings settings,
      Clock clock) {
    this(dsl, streams, steps, settings, clock, DeliveryYield.none());
  }

  /**
   * @param yieldToIngest yielded to before each row and each step call while ingest runs in this
   *     worker (see {@link DeliveryYield})
   */
  public OutboxDispatcher(
      DSLContext dsl,
      List<OutboxStream<?>> streams,
      List<DeliveryStep> steps,
      DeliverySettings settings,
      Clock clock,
      DeliveryYield yieldToIngest) {
    this.dsl = dsl;
    this.streams = List.copyOf(streams);
    this.steps = List.copyOf(steps);
    this.settings = settings;
    this.clock = clock;
    this.yieldToIngest = yieldToIngest;
  }

  /** Transitions only, to {@code targets}, with default settings (tests and tools). */
  public static OutboxDispatcher of(DSLContext dsl, List<TransitionTarget> targets, Clock clock) {
    return new OutboxDispatcher(
        dsl, List.of(new TransitionStream(targets)), List.of(), DeliverySettings.DEFAULTS, clock);
  }

  public DeliverySettings settings() {
    return settings;
  }

  /**
   * One bounded pass over delivery shard {@code shard} of {@code shards}; see the class comment.
   */
  public DeliveryPass deliver(int shard, int shards, Runnable heartbeat) {
    return pass(shard, shard, shards, heartbeat);
  }

  /**
   * Passes over the whole outbox (one shard of one) until a pass delivers nothing more that is due;
   * returns how many rows were delivered. For tests and tools where no delivery workflow runs: it
   * does not exclude the per-shard deliverers.
   */
  public int drain() {
    int total = 0;
    while (true) {
      DeliveryPass p = pass(WHOLE_OUTBOX, 0, 1, () -> {});
      total += p.delivered();
      if (p.leaseBusy() || (!p.more() && p.delivered() == 0)) return total;
      if (!p.more() && p.failed() == 0 && p.parked() == 0) return total;
    }
  }

  private DeliveryPass pass(int leaseKey, int shard, int shards, Runnable heartbeat) {
    heartbeat.run();
    Optional<DeliveryLease> acquired = DeliveryLease.acquire(dsl, leaseKey, settings.lease());
    if (acquired.isEmpty()) return DeliveryPass.busy();
    DeliveryLease lease = acquired.get();
    Pass pass = new Pass(lease, heartbeat, System.nanoTime() + settings.passBudget().toNanos());
    try {
      for (OutboxStream<?> stream : streams) {
        if (!pass.stream(stream, shard, shards)) break;
      }
      for (DeliveryStep step : steps) {
        if (pass.stopped) break;
        DeliveryStep.Result r = step.run(shard, shards, pass::proceedAfterYield);
        pass.delivered += r.delivered();
        pass.failed += r.failed();
        pass.parked += r.parked();
        pass.more |= r.more();
        r.nextDue().ifPresent(pass::due);
      }
    } finally {
      lease.release();
    }
    long nextDue = pass.nextDue == null ? 0 : pass.nextDue.toEpochMilli();
    // A parked row unblocks its user's later rows: look again at once.
    boolean more = pass.more || pass.stopped || pass.parked > 0;
    return new DeliveryPass(
        pass.delivered, pass.failed, pass.parked, more && !pass.leaseLost, nextDue, pass.leaseLost);
  }

  /** The state of one pass. */
  private final class Pass {
    final DeliveryLease lease;
    final Runnable heartbeat;
    final long budgetEnds;
    final Set<String> blocked = new HashSet<>();
    int delivered;
    int failed;
    int parked;
    boolean more;
    boolean stopped;
    boolean leaseLost;
    Instant nextDue;

    /** Where the work since the last yield started ({@link DeliveryYield#now()}). */
    long workSince = yieldToIngest.now();

    Pass(DeliveryLease lease, Runnable heartbeat, long budgetEnds) {
      this.lease = lease;
      this.heartbeat = heartbeat;
      this.budgetEnds = budgetEnds;
    }

    void due(Instant at) {
      if (nextDue == null || at.isBefore(nextDue)) nextDue = at;
    }

    /**
     * {@link #proceed()} after yielding to ingest (see {@link DeliveryYield}): before a row, or a
     * step's call. Interrupted (the worker shutting down), the pass stops: its unmarked rows are
     * delivered by the next one.
     */
    boolean proceedAfterYield() {
      workSince = yieldToIngest.yieldAfter(workSince);
      if (Thread.currentThread().isInterrupted()) {
        stopped = true;
        return false;
      }
      return proceed();
    }

    /** Heartbeat, then: budget left and lease held for one more call. */
    boolean proceed() {
      heartbeat.run();
      if (System.nanoTime() > budgetEnds) {
        stopped = true;
        return false;
      }
      // A third of the lease is what one target call may take: the lease must outlast it.
      if (!lease.ensure(settings.lease().dividedBy(3))) {
        stopped = true;
        leaseLost = true;
        log.warn(
            "delivery lease lost mid-pass; stopping (a successor re-delivers what was not marked)");
        return false;
      }
      return true;
    }

    /** Delivers the stream's due rows; false when the pass must stop. */
    <T> boolean stream(OutboxStream<T> stream, int shard, int shards) {
      OutboxTable c = stream.columns();
      List<Field<?>> fields =
          new ArrayList<>(List.of(c.id(), c.userId(), c.attempts(), c.nextAttemptAt()));
      fields.addAll(stream.payload());
      long after = 0;
      while (true) {
        var page =
            dsl.select(fields)
                .from(c.table())
                .where(
                    c.dispatchedAt()
                        .isNull()
                        .and(c.parkedAt().isNull())
                        .and(inShard(c, shard, shards))
                        .and(c.id().gt(after)))
                .orderBy(c.id())
                .limit(settings.pageSize())
                .fetch();
        List<Long> done = new ArrayList<>();
        try {
          for (Record r : page) {
            long id = r.get(c.id());
            after = id;
            String user = r.get(c.userId());
            if (blocked.contains(user)) continue;
            Instant retryAt = r.get(c.nextAttemptAt());
            if (retryAt != null && retryAt.isAfter(clock.instant())) {
              blocked.add(user);
              due(retryAt);
              continue;
            }
            if (!proceedAfterYield()) return false;
            try {
              stream.deliver(stream.map(r), this::proceed);
              done.add(id);
              delivered++;
              if (done.size() >= MARK_EVERY) {
                markDone(c, done);
                done.clear();
              }
            } catch (OutboxStream.LeaseLost e) {
              return false;
            } catch (io.temporal.client.ActivityCompletionException e) {
              throw e; // this attempt was given up: stop at once, unmarked rows are re-delivered
            } catch (Exception e) {
              blocked.add(user);
              recordFailure(stream, c, id, user, r.get(c.attempts()) + 1, e);
            }
          }
        } finally {
          markDone(c, done);
        }
        if (page.size() < settings.pageSize()) return true;
      }
    }

    private void recordFailure(
        OutboxStream<?> stream, OutboxTable c, long id, String user, int attempts, Exception e) {
      Instant now = clock.instant();
      String error = abbreviate(e);
      boolean park = attempts >= settings.maxAttempts();
      Instant retryAt = park ? null : now.plus(settings.backoffAfter(attempts));
      dsl.update(c.table())
          .set(c.attempts(), attempts)
          .set(c.lastError(), error)
          .set(c.nextAttemptAt(), retryAt)
          .set(c.parkedAt(), park ? now : null)
          .where(c.id().eq(id))
          .execute();
      if (park) {
        parked++;
        log.warn(
            "parked {} row {} (user {}) after {} attempts: {}",
            stream.name(),
            id,
            user,
            attempts,
            error);
      } else {
        failed++;
        due(retryAt);
        log.warn(
            "delivery of {} row {} (user {}) failed (attempt {}), retry at {}: {}",
            stream.name(),
            id,
            user,
            attempts,
            retryAt,
            error);
      }
    }

    private void markDone(OutboxTable c, List<Long> done) {
      if (done.isEmpty()) return;
      dsl.update(c.table())
          .set(c.dispatchedAt(), clock.instant())
          .set(c.nextAttemptAt(), (Instant) null)
          .where(c.id().in(done).and(c.dispatchedAt().isNull()))
          .execute();
    }
  }

  /** Rows of delivery shard {@code shard} (the partial index {@code (shard, id)} serves it). */
  static org.jooq.Condition inShard(OutboxTable c, int shard, int shards) {
    return shards == 1 ? DSL.noCondition() : c.shard().eq(shard);
  }

  /** Rows not yet delivered and not parked, over every stream. */
  public int pendingCount() {
    int n = 0;
    for (OutboxStream<?> stream : streams) {
      OutboxTable c = stream.columns();
      n += dsl.fetchCount(c.table(), c.dispatchedAt().isNull().and(c.parkedAt().isNull()));
    }
    return n;
  }

  /**
   * After the shard count shrank: pending rows of shards that no longer exist move to {@code shard
   * mod shards}, so some deliverer sees them. Order across the change holds only for users whose
   * rows were all delivered first: change {@code BUCKETFLOW_SHARDS} with the outbox drained.
   */
  public int reshardOrphans(int shards) {
    int moved = 0;
    for (OutboxStream<?> stream : streams) {
      OutboxTable c = stream.columns();
      moved +=
          dsl.update(c.table())
              .set(c.shard(), c.shard().mod(shards))
              .where(c.dispatchedAt().isNull().and(c.shard().ge(shards)))
              .execute();
    }
    return moved;
  }

  /** An error as stored in {@code last_error}: bounded, so a huge message never bloats the row. */
  public static String abbreviate(Exception e) {
    String s = e.toString();
    return s.length() <= ERROR_CHARS ? s : s.substring(0, ERROR_CHARS) + "…";
  }
}
