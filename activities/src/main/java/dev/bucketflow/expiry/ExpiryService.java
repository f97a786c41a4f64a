package dev.bucketflow.expiry;

import dev.bucketflow.bucket.MembershipStatus;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.Evaluator;
import dev.bucketflow.bucket.NextFlip;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.Deadlines;
import dev.bucketflow.membership.ContactLocks;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.membership.Transition;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jooq.DSLContext;
import org.jooq.Record;

/**
 * Leave-or-extend of one fast-expiry member at its deadline (DESIGN §8), decided under the
 * contact's row lock and then the membership row's ({@link ContactLocks}).
 */
public final class ExpiryService {

  private final DSLContext dsl;
  private final BucketCatalog catalog;
  private final UserStates states;
  private final TransitionWriter transitions;
  private final Clock clock;

  public ExpiryService(DSLContext dsl, BucketCatalog catalog, UserStates states, TransitionWriter transitions, Clock clock) {
    this.dsl = dsl;
    this.catalog = catalog;
    this.states = states;
    this.transitions = transitions;
    this.clock = clock;
  }

  public ExpiryCheck leaveOrExtend(ExpiryRequest armed) {
    Optional<BucketDefinition> found = catalog.byId(armed.bucketId());
    if (found.isEmpty()) return ExpiryCheck.gone();
    BucketDefinition bucket = found.get();
    return dsl.transactionResult(cfg -> {
      DSLContext tx = cfg.dsl();
      // The contact first, waiting for an ingest of this user to commit (one user: a blocking lock
      // is short, and cannot deadlock: nothing else is held yet). Then the row, read afresh.
      ContactLocks.lock(tx, List.of(armed.userId()));
      var m = BUCKET_MEMBERSHIPS;
      Record row = tx.select(m.ID, m.ENTERED_AT, m.EXPIRES_AT, m.MAX_DWELL_AT).from(m)
          .where(m.BUCKET_ID.eq(armed.bucketId()).and(m.USER_ID.eq(armed.userId()))
              .and(m.ENTRY_COUNT.eq(armed.entryCount())).and(m.STATUS.eq(MembershipStatus.ACTIVE)).and(m.DELETED_AT.isNull()))
          .forUpdate().fetchOne();
      if (row == null) return ExpiryCheck.gone();
      Instant now = clock.instant();
      Instant current = Deadlines.earliest(row.get(m.EXPIRES_AT), row.get(m.MAX_DWELL_AT));
      if (current == null) return ExpiryCheck.gone();
      // The deadline moved under us (new events, a deferral) or the timer woke early: follow it.
      if (current.isAfter(now)) return ExpiryCheck.extended(current.toEpochMilli());
      long id = row.get(m.ID);
      Instant maxDwellAt = row.get(m.MAX_DWELL_AT);
      boolean dwellOver = maxDwellAt != null && !maxDwellAt.isAfter(now);
      if (!dwellOver) {
        UserState state = states.load(tx, List.of(armed.userId()), bucket, now).get(armed.userId());
        boolean matches = Evaluator.matches(bucket.criteria(), state, now);
        Instant dwellEnds = bucket.minDwell() == null ? null : row.get(m.ENTERED_AT).plus(bucket.minDwell());
        boolean deferred = !matches && dwellEnds != null && dwellEnds.isAfter(now);
        if (matches || deferred) {
          Instant next = matches ? NextFlip.deadline(bucket.criteria(), state, now).orElse(null) : dwellEnds;
          tx.update(m).set(m.EXPIRES_AT, next).set(m.LAST_EVALUATED_AT, now).set(m.UPDATED_AT, now)
              .where(m.ID.eq(id)).execute();
          Instant watch = Deadlines.earliest(next, maxDwellAt);
          return watch == null ? ExpiryCheck.gone() : ExpiryCheck.extended(watch.toEpochMilli());
        }
      }
      Optional<Integer> epoch = tx.update(m).set(m.STATUS, MembershipStatus.LEFT).set(m.LEFT_AT, now).setNull(m.EXPIRES_AT).set(m.LAST_EVALUATED_AT, now)
          .set(m.UPDATED_AT, now).where(m.ID.eq(id).and(m.STATUS.eq(MembershipStatus.ACTIVE)))
          .returningResult(m.ENTRY_COUNT).fetchOptional(m.ENTRY_COUNT);
      epoch.ifPresent(e -> transitions.write(tx, List.of(Transition.left(bucket, armed.userId(), e, MembershipSource.EXPIRY, now))));
      return ExpiryCheck.left();
    });
  }
}
