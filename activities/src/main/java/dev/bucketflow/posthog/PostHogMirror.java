package dev.bucketflow.posthog;

import static dev.bucketflow.schema.Tables.POSTHOG_MIRROR;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.dispatch.DeliverySettings;
import dev.bucketflow.dispatch.DeliveryStep;
import dev.bucketflow.dispatch.OutboxDispatcher;
import dev.bucketflow.dispatch.OutboxRow;
import dev.bucketflow.dispatch.TransitionTarget;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.shard.Shards;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostHog mirror (DESIGN §11), durable: a join of a {@code syncToPostHog} bucket {@code $set}s
 * the person property {@link BucketDefinition#postHogKey()} to {@code true}, a leave {@code
 * $unset}s it (request shape: {@link PostHogClient}).
 *
 * <p><b>Two halves, both in the delivery pass.</b> As a {@link TransitionTarget} it only records
 * the wanted state in {@code posthog_mirror}, one row per (user, bucket), the newest transition
 * winning ({@code version = 2·epoch + (left ? 1 : 0)}; an older row delivered again changes
 * nothing) — no network, so PostHog can never hold up journeys or arming. As a {@link DeliveryStep}
 * it sends the shard's states that PostHog has not acknowledged; a state is done only on a 2xx,
 * compare-and-swapped on its version, so a state superseded while in flight is sent again in its
 * newest form.
 *
 * <p><b>Outages.</b> A 5xx, 429, timeout or I/O error means PostHog is unavailable, not that this
 * state is bad: the tried state backs off ({@link DeliverySettings#backoffAfter}) and every other
 * due state of the shard waits until the same instant, so an outage costs one request per backoff
 * step, and when PostHog is back the newest state of every pair is sent. Any other 4xx is this
 * state's own failure: it backs off alone. Either way a state is parked after {@link
 * DeliverySettings#maxAttempts()} failed attempts (about 90 minutes with the defaults) and
 * un-parked by the pair's next transition. Nothing lives only in memory: a restarted worker carries
 * on from the table.
 *
 * <p><b>Membership, not emission.</b> Joins recorded with {@code emitted=false} (entryLimit) are
 * mirrored too: the user <em>is</em> a member.
 *
 * <p><b>Off by default.</b> Without {@code POSTHOG_API_KEY} both halves do nothing.
 */
public final class PostHogMirror implements TransitionTarget, DeliveryStep {

  private static final Logger log = LoggerFactory.getLogger(PostHogMirror.class);

  /** A request must finish well inside the delivery lease. */
  static final Duration MAX_REQUEST_TIMEOUT = Duration.ofSeconds(3);

  private static final int PAGE = 200;

  private final DSLContext dsl;
  private final BucketCatalog catalog;
  private final PostHogSettings settings;
  private final DeliverySettings delivery;
  private final PostHogClient client;
  private final Clock clock;
  private final int shards;

  public PostHogMirror(
      DSLContext dsl,
      BucketCatalog catalog,
      PostHogSettings settings,
      DeliverySettings delivery,
      Clock clock,
      int shards) {
    this.dsl = dsl;
    this.catalog = catalog;
    this.settings = settings;
    this.delivery = delivery;
    this.clock = clock;
    this.shards = shards;
    this.client = settings.enabled() ? new PostHogClient(clamped(settings)) : null;
    if (client != null) log.info("PostHog mirror on: {}", settings);
  }

  public static PostHogMirror disabled(DSLContext dsl, BucketCatalog catalog) {
    return new PostHogMirror(
        dsl,
        catalog,
        PostHogSettings.disabled(),
        DeliverySettings.DEFAULTS,
        Clock.systemUTC(),
        Shards.DEFAULT_SHARDS);
  }

  private static PostHogSettings clamped(PostHogSettings s) {
    Duration timeout =
        s.timeout().compareTo(MAX_REQUEST_TIMEOUT) > 0 ? MAX_REQUEST_TIMEOUT : s.timeout();
    return new PostHogSettings(s.apiKey(), s.host(), timeout, s.maxAttempts(), s.initialBackoff());
  }

  public boolean enabled() {
    return client != null;
  }

  /** Records the wanted state (newest wins); one upsert, no network. */
  @Override
  public void deliver(OutboxRow row) {
    if (client == null) return;
    BucketDefinition bucket = catalog.byId(row.bucketId()).orElse(null);
    if (bucket == null || !bucket.syncToPostHog()) return;
    var p = POSTHOG_MIRROR;
    long version = 2L * row.epoch() + (row.entered() ? 0 : 1);
    dsl.insertInto(
            p,
            p.USER_ID,
            p.BUCKET_ID,
            p.PROPERTY_KEY,
            p.MEMBER,
            p.VERSION,
            p.SHARD,
            p.CHANGED_AT,
            p.LEAVE_REASON)
        .values(
            row.userId(),
            row.bucketId(),
            bucket.postHogKey(),
            row.entered(),
            version,
            Shards.shardOf(row.userId(), shards),
            row.createdAt(),
            row.reason().orElse(null))
        .onConflict(p.USER_ID, p.BUCKET_ID)
        .doUpdate()
        .set(p.PROPERTY_KEY, DSL.excluded(p.PROPERTY_KEY))
        .set(p.MEMBER, DSL.excluded(p.MEMBER))
        .set(p.VERSION, DSL.excluded(p.VERSION))
        .set(p.SHARD, DSL.excluded(p.SHARD))
        .set(p.LEAVE_REASON, DSL.excluded(p.LEAVE_REASON))
        // A new state starts its attempts afresh but keeps a shard-wide outage back-off.
        .set(p.CHANGED_AT, DSL.excluded(p.CHANGED_AT))
        .set(p.ATTEMPTS, 0)
        .setNull(p.PARKED_AT)
        .where(p.VERSION.lt(DSL.excluded(p.VERSION)))
        .execute();
  }

  /** Sends the shard's due, unacknowledged states; see the class comment. */
  @Override
  public Result run(int shard, int shardCount, Control control) {
    if (client == null) return Result.NOTHING;
    var p = POSTHOG_MIRROR;
    int delivered = 0;
    int failed = 0;
    int parked = 0;
    Instant now = clock.instant();
    var pending =
        p.SENT_VERSION
            .isDistinctFrom(p.VERSION)
            .and(p.PARKED_AT.isNull())
            .and(shardCount == 1 ? DSL.noCondition() : p.SHARD.eq(shard));
    var due = pending.and(p.NEXT_ATTEMPT_AT.isNull().or(p.NEXT_ATTEMPT_AT.le(now)));
    var rows =
        dsl.select(
                p.USER_ID,
                p.BUCKET_ID,
                p.PROPERTY_KEY,
                p.MEMBER,
                p.VERSION,
                p.CHANGED_AT,
                p.ATTEMPTS,
                p.LEAVE_REASON)
            .from(p)
            .where(due)
            .orderBy(p.SHARD, p.USER_ID, p.BUCKET_ID)
            .limit(PAGE)
            .fetch();
    for (var r : rows) {
      if (!control.proceed()) return new Result(delivered, failed, parked, true, Optional.empty());
      String user = r.get(p.USER_ID);
      String bucket = r.get(p.BUCKET_ID);
      long version = r.get(p.VERSION);
      try {
        if (r.get(p.MEMBER)) client.setProperty(user, r.get(p.PROPERTY_KEY), r.get(p.CHANGED_AT));
        else
          client.unsetProperty(
              user,
              r.get(p.PROPERTY_KEY),
              r.get(p.CHANGED_AT),
              Optional.ofNullable(r.get(p.LEAVE_REASON)));
        dsl.update(p)
            .set(p.SENT_VERSION, version)
            .set(p.SENT_AT, clock.instant())
            .set(p.ATTEMPTS, 0)
            .setNull(p.NEXT_ATTEMPT_AT)
            .setNull(p.LAST_ERROR)
            .where(p.USER_ID.eq(user).and(p.BUCKET_ID.eq(bucket)).and(p.VERSION.eq(version)))
            .execute();
        delivered++;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new Result(delivered, failed, parked, true, Optional.empty());
      } catch (IOException | RuntimeException e) {
        int attempts = r.get(p.ATTEMPTS) + 1;
        boolean park = attempts >= delivery.maxAttempts();
        Instant retryAt = clock.instant().plus(delivery.backoffAfter(attempts));
        String error = OutboxDispatcher.abbreviate(e);
        dsl.update(p)
            .set(p.ATTEMPTS, attempts)
            .set(p.LAST_ERROR, error)
            .set(p.NEXT_ATTEMPT_AT, park ? null : retryAt)
            .set(p.PARKED_AT, park ? clock.instant() : null)
            .where(p.USER_ID.eq(user).and(p.BUCKET_ID.eq(bucket)).and(p.VERSION.eq(version)))
            .execute();
        if (park) {
          parked++;
          log.warn(
              "PostHog mirror parked {} of {} for user={} bucket={} after {} attempts: {}",
              r.get(p.MEMBER) ? "$set" : "$unset",
              r.get(p.PROPERTY_KEY),
              user,
              bucket,
              attempts,
              error);
        } else {
          failed++;
        }
        if (unavailable(e)) {
          // PostHog is down, not this state: everything due waits with it.
          dsl.update(p).set(p.NEXT_ATTEMPT_AT, retryAt).where(due).execute();
          log.warn(
              "PostHog unavailable ({}); retrying the shard's {} pending state(s) at {}",
              error,
              rows.size() - delivered,
              retryAt);
          return new Result(delivered, failed, parked, false, Optional.of(retryAt));
        }
      }
    }
    boolean more = rows.size() == PAGE;
    Instant next =
        dsl.select(DSL.min(p.NEXT_ATTEMPT_AT)).from(p).where(pending).fetchOne(0, Instant.class);
    return new Result(delivered, failed, parked, more, Optional.ofNullable(next));
  }

  /** 5xx, 429 and transport errors: the service, not the request. */
  static boolean unavailable(Exception e) {
    if (e instanceof PostHogClient.CaptureFailed f) return f.status() >= 500 || f.status() == 429;
    return true;
  }
}
