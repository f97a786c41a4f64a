package dev.bucketflow.expiry;

import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.CONTACTS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.EntryGate;
import dev.bucketflow.bucket.Evaluator;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.NextFlip;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.BulkMemberships;
import dev.bucketflow.membership.ContactLocks;
import dev.bucketflow.membership.Deadlines;
import dev.bucketflow.membership.Dependents;
import dev.bucketflow.membership.DwellEvents;
import dev.bucketflow.membership.MovedDeadline;
import dev.bucketflow.membership.Transition;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jooq.DSLContext;
import org.jooq.Record;

/**
 * Leave-or-extend of one fast-expiry member at its deadline (DESIGN §8), decided under the
 * contact's row lock and then the membership row's ({@link ContactLocks}).
 *
 * <p>The same watch also joins by the clock (issue 12): a watch of epoch {@code n} woken while the
 * user has no active row and exactly {@code n - 1} earlier rows is a <em>join watch</em>, armed at
 * the instant the criteria turn true by the clock alone ({@link NextFlip#joinInstant}). It joins if
 * the criteria hold (the reconcile sweep's set-based join, restricted to this user, so both agree)
 * and then watches that epoch's leave; otherwise it sleeps toward the new join instant, or ends.
 */
public final class ExpiryService {

  private final DSLContext dsl;
  private final BucketCatalog catalog;
  private final UserStates states;
  private final TransitionWriter transitions;
  private final BulkMemberships bulk;
  private final Dependents dependents;
  private final Clock clock;

  public ExpiryService(
      DSLContext dsl,
      BucketCatalog catalog,
      UserStates states,
      TransitionWriter transitions,
      Clock clock) {
    this.dsl = dsl;
    this.catalog = catalog;
    this.states = states;
    this.transitions = transitions;
    this.bulk = new BulkMemberships(states, transitions);
    this.dependents = new Dependents(catalog, states, transitions);
    this.clock = clock;
  }

  /**
   * What a wake-up decided: the watch's next step, whether it wrote a transition (a leave, or a
   * join reported as EXTENDED toward the new epoch's leave), and the watch of the next epoch to arm
   * once it committed (a leave whose criteria will turn true again by the clock).
   */
  public record Decision(
      ExpiryCheck check, boolean transitioned, Optional<MovedDeadline> nextJoinWatch) {
    static Decision of(ExpiryCheck check) {
      return new Decision(check, false, Optional.empty());
    }
  }

  public ExpiryCheck leaveOrExtend(ExpiryRequest armed) {
    return decide(armed).check();
  }

  public Decision decide(ExpiryRequest armed) {
    Optional<BucketDefinition> found = catalog.byId(armed.bucketId());
    if (found.isEmpty()) return Decision.of(ExpiryCheck.gone());
    BucketDefinition bucket = found.get();
    return dsl.transactionResult(
        cfg -> {
          DSLContext tx = cfg.dsl();
          // The contact first, waiting for an ingest of this user to commit (one user: a blocking
          // lock
          // is short, and cannot deadlock: nothing else is held yet). Then the row, read afresh.
          ContactLocks.lock(tx, List.of(armed.userId()));
          var m = BUCKET_MEMBERSHIPS;
          Record row =
              tx.select(m.ID, m.ENTERED_AT, m.EXPIRES_AT, m.MAX_DWELL_AT, m.DWELL_DONE_MS)
                  .from(m)
                  .where(
                      m.BUCKET_ID
                          .eq(armed.bucketId())
                          .and(m.USER_ID.eq(armed.userId()))
                          .and(m.ENTRY_COUNT.eq(armed.entryCount()))
                          .and(m.STATUS.eq(MembershipStatus.ACTIVE))
                          .and(m.DELETED_AT.isNull()))
                  .forUpdate()
                  .fetchOne();
          Instant now = clock.instant();
          if (row == null) return joinOrWait(tx, bucket, armed, now);
          long id = row.get(m.ID);
          Instant leaveAt = Deadlines.earliest(row.get(m.EXPIRES_AT), row.get(m.MAX_DWELL_AT));
          // Dwell events reached before any leave instant: the member was still in this epoch then.
          Instant since =
              bucket.hasDwellEvents() ? DwellEvents.since(tx, bucket.id()) : Instant.EPOCH;
          Instant enteredAt = row.get(m.ENTERED_AT);
          long dwellDone = row.get(m.DWELL_DONE_MS);
          Instant dwellAt = DwellEvents.nextAt(bucket, enteredAt, dwellDone, since);
          boolean dwelled = false;
          while (dwellAt != null
              && !dwellAt.isAfter(now)
              && (leaveAt == null || dwellAt.isBefore(leaveAt))) {
            Duration after = DwellEvents.next(bucket, enteredAt, dwellDone, since).orElseThrow();
            tx.update(m)
                .set(m.DWELL_DONE_MS, after.toMillis())
                .set(m.UPDATED_AT, now)
                .where(m.ID.eq(id))
                .execute();
            transitions.writeDwell(
                tx,
                bucket.id(),
                List.of(new DwellEvents.Due(armed.userId(), armed.entryCount(), after, dwellAt)),
                now);
            dwelled = true;
            dwellDone = after.toMillis();
            dwellAt = DwellEvents.nextAt(bucket, enteredAt, dwellDone, since);
          }
          Instant current = Deadlines.earliest(leaveAt, dwellAt);
          if (current == null) return new Decision(ExpiryCheck.gone(), dwelled, Optional.empty());
          // The deadline moved under us (new events, a deferral), the timer woke early, or the next
          // dwell event is ahead: follow it.
          if (current.isAfter(now))
            return new Decision(
                ExpiryCheck.extended(current.toEpochMilli()), dwelled, Optional.empty());
          Instant nextDwell = dwellAt;
          Instant maxDwellAt = row.get(m.MAX_DWELL_AT);
          boolean dwellOver = maxDwellAt != null && !maxDwellAt.isAfter(now);
          UserState state = null;
          if (!dwellOver) {
            state = states.load(tx, List.of(armed.userId()), bucket, now).get(armed.userId());
            boolean matches = Evaluator.matches(bucket.criteria(), state, now);
            Instant dwellEnds =
                bucket.minDwell() == null ? null : row.get(m.ENTERED_AT).plus(bucket.minDwell());
            boolean deferred = !matches && dwellEnds != null && dwellEnds.isAfter(now);
            if (matches || deferred) {
              Instant next =
                  matches
                      ? NextFlip.deadline(bucket.criteria(), state, now).orElse(null)
                      : dwellEnds;
              tx.update(m)
                  .set(m.EXPIRES_AT, next)
                  .set(m.LAST_EVALUATED_AT, now)
                  .set(m.UPDATED_AT, now)
                  .where(m.ID.eq(id))
                  .execute();
              Instant watch = Deadlines.earliest(next, maxDwellAt, nextDwell);
              return new Decision(
                  watch == null ? ExpiryCheck.gone() : ExpiryCheck.extended(watch.toEpochMilli()),
                  dwelled,
                  Optional.empty());
            }
          }
          Optional<Integer> epoch =
              tx.update(m)
                  .set(m.STATUS, MembershipStatus.LEFT)
                  .set(m.LEFT_AT, now)
                  .setNull(m.EXPIRES_AT)
                  .set(m.LAST_EVALUATED_AT, now)
                  .set(m.UPDATED_AT, now)
                  .where(m.ID.eq(id).and(m.STATUS.eq(MembershipStatus.ACTIVE)))
                  .returningResult(m.ENTRY_COUNT)
                  .fetchOptional(m.ENTRY_COUNT);
          epoch.ifPresent(
              e -> {
                List<Transition> left =
                    List.of(
                        Transition.left(
                            bucket,
                            armed.userId(),
                            e,
                            MembershipSource.EXPIRY,
                            dwellOver ? LeaveReason.MAX_DWELL : LeaveReason.CRITERIA,
                            now));
                transitions.write(tx, left);
                dependents.follow(tx, left, now, MembershipSource.EXPIRY);
              });
          // Left by the clock: if the clock alone will make the criteria true again, the next
          // epoch's
          // watch joins then. (After a maxDwell leave the criteria may hold now: no join instant.)
          Optional<MovedDeadline> next =
              epoch.isPresent() && state != null && bucket.watchesJoins()
                  ? NextFlip.joinInstant(bucket.criteria(), state, now)
                      .map(
                          at -> new MovedDeadline(bucket.id(), armed.userId(), epoch.get() + 1, at))
                  : Optional.empty();
          return new Decision(ExpiryCheck.left(), epoch.isPresent(), next);
        });
  }

  /**
   * The join branch: no active row of the armed epoch. Joins when the user is at exactly that
   * epoch's threshold and the criteria hold now; a stale watch (the user joined or left meanwhile
   * by another path, which arms its own watch) ends.
   */
  private Decision joinOrWait(
      DSLContext tx, BucketDefinition bucket, ExpiryRequest armed, Instant now) {
    if (!bucket.watchesJoins()) return Decision.of(ExpiryCheck.gone());
    var m = BUCKET_MEMBERSHIPS;
    var rows =
        tx.select(m.ENTRY_COUNT, m.STATUS, m.DELETED_AT)
            .from(m)
            .where(m.BUCKET_ID.eq(armed.bucketId()).and(m.USER_ID.eq(armed.userId())))
            .fetch();
    boolean active =
        rows.stream().anyMatch(r -> r.value2() == MembershipStatus.ACTIVE && r.value3() == null);
    if (active || rows.size() != armed.entryCount() - 1) return Decision.of(ExpiryCheck.gone());
    List<Transition> joined =
        bulk.join(
            tx,
            bucket,
            CONTACTS.EXTERNAL_ID.eq(armed.userId()),
            now,
            MembershipSource.EXPIRY,
            (priorEntries, lastLeftAt) ->
                EntryGate.emitsJoin(
                    bucket.entryLimit(), bucket.entryPeriod(), priorEntries, lastLeftAt, now));
    if (!joined.isEmpty()) {
      dependents.follow(tx, joined, now, MembershipSource.EXPIRY);
      Record row =
          tx.select(m.EXPIRES_AT, m.MAX_DWELL_AT, m.ENTERED_AT, m.DWELL_DONE_MS)
              .from(m)
              .where(
                  m.BUCKET_ID
                      .eq(armed.bucketId())
                      .and(m.USER_ID.eq(armed.userId()))
                      .and(m.ENTRY_COUNT.eq(armed.entryCount()))
                      .and(m.STATUS.eq(MembershipStatus.ACTIVE)))
              .fetchOne();
      // Now this epoch's watch: toward its leave or its first dwell event, as the arming computes
      // it.
      Instant watch =
          row == null
              ? null
              : Deadlines.watch(
                  tx,
                  bucket,
                  row.get(m.EXPIRES_AT),
                  row.get(m.MAX_DWELL_AT),
                  row.get(m.ENTERED_AT),
                  row.get(m.DWELL_DONE_MS));
      return new Decision(
          watch == null ? ExpiryCheck.gone() : ExpiryCheck.extended(watch.toEpochMilli()),
          true,
          Optional.empty());
    }
    UserState state = states.load(tx, List.of(armed.userId()), bucket, now).get(armed.userId());
    return Decision.of(
        NextFlip.joinInstant(bucket.criteria(), state, now)
            .map(at -> ExpiryCheck.extended(at.toEpochMilli()))
            .orElse(ExpiryCheck.gone()));
  }
}
