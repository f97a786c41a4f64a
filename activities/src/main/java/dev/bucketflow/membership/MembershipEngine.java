package dev.bucketflow.membership;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.EntryGate;
import dev.bucketflow.bucket.Evaluator;
import dev.bucketflow.bucket.EventSeries;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.NextFlip;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.event.IncomingEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.jooq.DSLContext;

/**
 * Real-time membership inside the ingest transaction (DESIGN §7). Loads what the batch's candidate
 * buckets need in a few set-based queries, then applies the events in memory, in order, so a batch
 * yields exactly the transitions one-at-a-time application would. Only joins and leaves touch the
 * database one statement each; stable members cost nothing.
 *
 * <p>The caller must hold the row locks of the batch's contacts ({@link ContactLocks}), which
 * serializes it with concurrent batches of one user and with the clock-driven writers, which take
 * the same locks; joins and leaves stay atomic besides (partial unique index, CAS).
 */
public final class MembershipEngine {

  private final BucketCatalog catalog;
  private final MembershipStore store;
  private final EventHistoryLoader history;
  private final TransitionWriter transitions;
  private final AtomicLong evaluations = new AtomicLong();

  /** Manual ops change one bucket outside the in-memory batch: its dependents follow set-based. */
  private final Dependents dependents;

  public MembershipEngine(
      BucketCatalog catalog,
      MembershipStore store,
      EventHistoryLoader history,
      TransitionWriter transitions) {
    this.catalog = catalog;
    this.store = store;
    this.history = history;
    this.transitions = transitions;
    this.dependents = new Dependents(catalog, new UserStates(history), transitions);
  }

  public BucketCatalog catalog() {
    return catalog;
  }

  /**
   * Joins a manual bucket (DESIGN §7 rules: fresh row, epoch, entryLimit gate) and writes the
   * transition. Empty when the user is already a member.
   */
  public Optional<Transition> joinManually(
      DSLContext tx, BucketDefinition bucket, String userId, String email, Instant now) {
    MembershipKey key = new MembershipKey(userId, bucket.id());
    MembershipHistory before =
        store
            .historyOf(tx, List.of(userId), List.of(bucket.id()))
            .getOrDefault(key, MembershipHistory.NONE);
    Instant maxDwellAt = bucket.maxDwell() == null ? null : now.plus(bucket.maxDwell());
    Optional<Transition> joined =
        store
            .join(
                tx,
                userId,
                email,
                bucket.id(),
                now,
                before.entries() + 1,
                null,
                maxDwellAt,
                MembershipSource.MANUAL)
            .map(
                row ->
                    Transition.entered(
                        bucket,
                        userId,
                        row.entryCount(),
                        MembershipSource.MANUAL,
                        EntryGate.emitsJoin(
                            bucket.entryLimit(),
                            bucket.entryPeriod(),
                            before.entries(),
                            before.lastLeftAt(),
                            now),
                        now));
    joined.ifPresent(
        t -> {
          transitions.write(tx, List.of(t));
          dependents.follow(tx, List.of(t), now, MembershipSource.MANUAL);
        });
    return joined;
  }

  /**
   * Leaves a manual bucket (compare-and-swap) and writes the transition; empty when not a member.
   */
  public Optional<Transition> leaveManually(
      DSLContext tx, BucketDefinition bucket, String userId, Instant now) {
    ActiveMembership current =
        store
            .activeOf(tx, List.of(userId), List.of(bucket.id()))
            .get(new MembershipKey(userId, bucket.id()));
    if (current == null) return Optional.empty();
    Optional<Transition> left =
        store
            .leaveIfActive(tx, current.id(), now)
            .map(
                epoch ->
                    Transition.left(
                        bucket, userId, epoch, MembershipSource.MANUAL, LeaveReason.MANUAL, now));
    left.ifPresent(
        t -> {
          transitions.write(tx, List.of(t));
          dependents.follow(tx, List.of(t), now, MembershipSource.MANUAL);
        });
    return left;
  }

  /** Contact state before the batch, as the caller loaded (and locked) it. */
  public record ContactState(ObjectNode properties, String email) {}

  /** Criteria evaluations so far: candidate narrowing is visible here. */
  public long evaluations() {
    return evaluations.get();
  }

  /**
   * Loads, before the batch's events are stored, the state its candidate buckets need: event
   * history, active rows and entry history of the batch's users. Loading first keeps the stored
   * history free of the batch's own events, which {@link Prepared#apply} then adds in order.
   *
   * @param events every event that may be stored (duplicates included; they are only skipped)
   */
  public Prepared prepare(
      DSLContext tx, List<IncomingEvent> events, Map<String, ContactState> contacts, Instant now) {
    Map<String, BucketDefinition> touched = new LinkedHashMap<>();
    // Per user, the buckets its own events may move: all that apply() evaluates for it, so all
    // whose history it needs (not every bucket some user of the batch touched).
    // (Keyed by id: a definition's record hash walks its whole criteria tree.)
    Map<String, Map<String, BucketDefinition>> bucketsByUser = new LinkedHashMap<>();
    for (IncomingEvent e : events) {
      List<BucketDefinition> found = catalog.candidates(e.event(), fieldNames(e.properties()));
      if (!found.isEmpty()) {
        Map<String, BucketDefinition> mine =
            bucketsByUser.computeIfAbsent(e.userId(), u -> new LinkedHashMap<>());
        for (BucketDefinition b : found) {
          mine.putIfAbsent(b.id(), b);
          touched.putIfAbsent(b.id(), b);
        }
      }
    }
    Set<String> users = bucketsByUser.keySet();
    Map<String, java.util.Collection<BucketDefinition>> readBy = new LinkedHashMap<>();
    bucketsByUser.forEach((user, mine) -> readBy.put(user, mine.values()));
    if (touched.isEmpty())
      return new Prepared(tx, now, contacts, Map.of(), Map.of(), Map.of(), Set.of());
    // Bucket conditions read memberships of buckets the batch may not touch: load those too.
    Set<String> referenced = new LinkedHashSet<>();
    touched.values().forEach(b -> referenced.addAll(b.referencedBuckets()));
    Set<String> activeOf = new LinkedHashSet<>(touched.keySet());
    activeOf.addAll(referenced);
    MembershipStore.Rows rows = store.rowsOf(tx, users, activeOf, touched.keySet());
    Prepared prepared =
        new Prepared(
            tx,
            now,
            contacts,
            history.loadBounded(tx, readBy, now),
            rows.active(),
            rows.history(),
            referenced);
    bucketsByUser.forEach((user, mine) -> prepared.loadedFor.put(user, mine.keySet()));
    return prepared;
  }

  private static List<String> fieldNames(ObjectNode properties) {
    List<String> names = new ArrayList<>(properties.size());
    properties.fieldNames().forEachRemaining(names::add);
    return names;
  }

  /** One batch's in-memory view: user states, active rows, entry history, and what changed. */
  public final class Prepared {
    final DSLContext tx;
    final Instant now;
    final Map<String, ContactState> contacts;
    final Map<String, Map<String, EventSeries>> series;
    final Map<MembershipKey, ActiveMembership> active;

    /** Active rows as loaded, by id: what a re-stamp is compared with. */
    final Map<Long, ActiveMembership> loaded = new HashMap<>();

    final Map<MembershipKey, MembershipHistory> past;
    final Map<String, UserState> states = new HashMap<>();

    /** Deadline changes of rows that existed before the batch. */
    final Map<Long, Instant> deadlines = new HashMap<>();

    /** Rows created in this batch, by temporary (negative) id. */
    final Map<Long, NewRow> newRows = new LinkedHashMap<>();

    /** Leaves of rows that existed before the batch: compare-and-swap at the end. */
    final Set<Long> existingLeaves = new LinkedHashSet<>();

    /** Transitions in order, each with the row whose write decides whether it happened. */
    final List<Tentative> tentative = new ArrayList<>();

    /** Fast-expiry watch deadlines this batch moved earlier; to be signalled after the commit. */
    final List<MovedDeadline> moved = new ArrayList<>();

    /**
     * The stored events that produced at least one recorded transition, in batch order (see {@link
     * #transitionCauses}).
     */
    final List<IncomingEvent> causes = new ArrayList<>();

    /**
     * Per user and join-watching bucket ({@link BucketDefinition#watchesJoins()}) the batch
     * touched: the epoch a join would open and the clock join instant, as they stood before the
     * batch.
     */
    final Map<MembershipKey, JoinWatch> joinWatchesBefore = new LinkedHashMap<>();

    /** The event being applied: the cause of the tentative transitions added meanwhile. */
    IncomingEvent applying;

    long nextTempId = -1;

    /**
     * A non-member's next epoch and its clock join instant; empty {@code at} for a member or none.
     */
    record JoinWatch(BucketDefinition bucket, int epoch, Optional<Instant> at) {}

    /**
     * A transition that stands if its row's write succeeds; {@code cause} is the event that made
     * it.
     */
    record Tentative(Transition transition, long rowId, IncomingEvent cause) {}

    /**
     * Buckets named by the touched buckets' bucket conditions: each state starts with its
     * memberships of them.
     */
    final Set<String> referenced;

    /**
     * Per user, the buckets whose history {@link #prepare} loaded. A bucket the kill switch turns
     * on between prepare and apply is a candidate only then, with no history loaded for it: it is
     * not evaluated in this batch (the user's next event or the sweep evaluates it).
     */
    final Map<String, Set<String>> loadedFor = new HashMap<>();

    Prepared(
        DSLContext tx,
        Instant now,
        Map<String, ContactState> contacts,
        Map<String, Map<String, EventSeries>> series,
        Map<MembershipKey, ActiveMembership> active,
        Map<MembershipKey, MembershipHistory> past,
        Set<String> referenced) {
      this.referenced = referenced;
      this.tx = tx;
      this.now = now;
      this.contacts = contacts;
      this.series = series;
      this.active = new HashMap<>(active);
      active.values().forEach(a -> loaded.put(a.id(), a));
      this.past = new HashMap<>(past);
    }

    /**
     * Applies the stored events in order, in memory, then writes what changed in a handful of
     * statements: one CAS update for leaves of existing rows, one for deadlines, one multi-row
     * insert for new rows, then the transitions that really happened.
     */
    public List<Transition> apply(List<IncomingEvent> stored) {
      if (series.isEmpty()) return List.of();
      for (IncomingEvent e : stored) {
        UserState state = state(e.userId());
        if (state == null) continue; // no candidate bucket for this user anywhere in the batch
        Set<String> loadedBuckets = loadedFor.getOrDefault(e.userId(), Set.of());
        List<BucketDefinition> candidates =
            catalog.candidates(e.event(), fieldNames(e.properties())).stream()
                .filter(b -> loadedBuckets.contains(b.id()))
                .toList();
        for (BucketDefinition bucket : candidates) {
          if (bucket.watchesJoins()) noteJoinWatchBefore(e.userId(), bucket, state);
        }
        state.mergeProperties(e.properties());
        state.recordEvent(e.event(), e.occurredAt());
        applying = e;
        for (BucketDefinition bucket : candidates) {
          evaluate(e.userId(), bucket, state);
        }
      }
      applying = null;
      List<Transition> recorded = flush();
      joinWatchesMoved();
      return recorded;
    }

    private void noteJoinWatchBefore(String user, BucketDefinition bucket, UserState state) {
      joinWatchesBefore.computeIfAbsent(
          new MembershipKey(user, bucket.id()), key -> joinWatch(key, bucket, state));
    }

    private JoinWatch joinWatch(MembershipKey key, BucketDefinition bucket, UserState state) {
      if (active.containsKey(key)) return new JoinWatch(bucket, -1, Optional.empty());
      return new JoinWatch(
          bucket,
          past.getOrDefault(key, MembershipHistory.NONE).entries() + 1,
          NextFlip.joinInstant(bucket.criteria(), state, now));
    }

    /**
     * Join watches to arm or move after the commit: a non-member at the end of the batch whose join
     * instant is new, earlier, or of a new epoch (the user left in this batch). A later instant
     * needs no signal: the running watch wakes early, re-evaluates and sleeps on. A lost signal
     * only makes the join late (the reconcile tick joins), never wrong.
     */
    private void joinWatchesMoved() {
      joinWatchesBefore.forEach(
          (key, before) -> {
            JoinWatch after = joinWatch(key, before.bucket(), states.get(key.userId()));
            if (after.at().isEmpty()) return;
            Instant at = after.at().get();
            if (after.epoch() != before.epoch()
                || before.at().isEmpty()
                || at.isBefore(before.at().get())) {
              moved.add(new MovedDeadline(key.bucketId(), key.userId(), after.epoch(), at));
            }
          });
    }

    private List<Transition> flush() {
      Set<Long> written = new HashSet<>(store.leaveAllIfActive(tx, existingLeaves, now));
      existingLeaves.forEach(deadlines::remove);
      store.updateDeadlines(tx, deadlines, now);
      deadlines.forEach((id, expiresAt) -> movedEarlier(loaded.get(id), expiresAt));
      Set<Long> inserted =
          store.insertAll(tx, List.copyOf(newRows.values()), MembershipSource.EVENT);
      written.addAll(inserted);
      List<Transition> recorded = new ArrayList<>(tentative.size());
      IncomingEvent lastCause = null;
      for (Tentative t : tentative) {
        // A lost CAS or insert means another writer made (and recorded) that change.
        if (!written.contains(t.rowId())) continue;
        recorded.add(t.transition());
        // Tentatives are in event order, so one event's transitions are adjacent: count it once.
        if (t.cause() != null && t.cause() != lastCause) {
          causes.add(t.cause());
          lastCause = t.cause();
        }
      }
      transitions.write(tx, recorded);
      return recorded;
    }

    /**
     * The events of {@link #apply} that produced at least one recorded transition (a join or leave
     * that really happened, emitted or gated), each once, in order; empty before {@code apply}.
     * What the event→transition latency is measured over.
     */
    public List<IncomingEvent> transitionCauses() {
      return List.copyOf(causes);
    }

    /**
     * Fast-expiry deadlines this batch moved earlier than the watch sleeps toward (or gave to a row
     * that had none): the caller signals them once the transaction has committed.
     */
    public List<MovedDeadline> movedDeadlines() {
      return List.copyOf(moved);
    }

    private void movedEarlier(ActiveMembership before, Instant expiresAt) {
      if (before == null) return;
      BucketDefinition bucket = catalog.byId(before.bucketId()).orElse(null);
      if (bucket == null || !bucket.fastExpiry()) return;
      Instant was = Deadlines.earliest(before.expiresAt(), before.maxDwellAt());
      Instant is = Deadlines.earliest(expiresAt, before.maxDwellAt());
      if (is != null && (was == null || is.isBefore(was))) {
        moved.add(new MovedDeadline(bucket.id(), before.userId(), before.entryCount(), is));
      }
    }

    UserState state(String user) {
      Map<String, EventSeries> loaded = series.get(user);
      if (loaded == null) return null;
      return states.computeIfAbsent(
          user,
          u -> {
            ContactState c = contacts.get(u);
            UserState state = new UserState(c == null ? null : c.properties(), loaded);
            for (String b : referenced) {
              if (active.containsKey(new MembershipKey(u, b))) state.setMember(b, true);
            }
            return state;
          });
    }

    void evaluate(String user, BucketDefinition bucket, UserState state) {
      evaluations.incrementAndGet();
      MembershipKey key = new MembershipKey(user, bucket.id());
      boolean matches = Evaluator.matches(bucket.criteria(), state, now);
      ActiveMembership current = active.get(key);
      if (current == null) {
        if (matches) {
          join(key, bucket, state);
          state.setMember(bucket.id(), true); // its dependents, evaluated next, see it
        }
      } else if (!matches) {
        leaveOrDefer(key, bucket, current);
        state.setMember(bucket.id(), active.containsKey(key));
      } else {
        restamp(key, current, NextFlip.deadline(bucket.criteria(), state, now).orElse(null));
      }
    }

    void join(MembershipKey key, BucketDefinition bucket, UserState state) {
      MembershipHistory before = past.getOrDefault(key, MembershipHistory.NONE);
      int epoch = before.entries() + 1;
      Instant expiresAt = NextFlip.deadline(bucket.criteria(), state, now).orElse(null);
      Instant maxDwellAt = bucket.maxDwell() == null ? null : now.plus(bucket.maxDwell());
      ContactState contact = contacts.get(key.userId());
      NewRow row =
          new NewRow(
              nextTempId--,
              key.userId(),
              contact == null ? null : contact.email(),
              bucket.id(),
              now,
              epoch,
              expiresAt,
              maxDwellAt);
      newRows.put(row.tempId, row);
      active.put(
          key,
          new ActiveMembership(
              row.tempId, key.userId(), bucket.id(), now, epoch, expiresAt, maxDwellAt));
      past.put(key, before.joined());
      boolean emit =
          EntryGate.emitsJoin(
              bucket.entryLimit(),
              bucket.entryPeriod(),
              before.entries(),
              before.lastLeftAt(),
              now);
      tentative.add(
          new Tentative(
              Transition.entered(bucket, key.userId(), epoch, MembershipSource.EVENT, emit, now),
              row.tempId,
              applying));
    }

    void leaveOrDefer(MembershipKey key, BucketDefinition bucket, ActiveMembership current) {
      if (bucket.minDwell() != null) {
        Instant dwellEnds = current.enteredAt().plus(bucket.minDwell());
        if (now.isBefore(dwellEnds)) {
          // Too early to leave: keep the row, and have the sweep or timer look again then.
          restamp(key, current, dwellEnds);
          return;
        }
      }
      active.remove(key);
      NewRow created = newRows.get(current.id());
      if (created != null) {
        created.leftAt = now; // joined and left inside this batch: inserted already left
      } else {
        existingLeaves.add(current.id());
      }
      past.put(key, past.getOrDefault(key, MembershipHistory.NONE).left(now));
      tentative.add(
          new Tentative(
              Transition.left(
                  bucket,
                  key.userId(),
                  current.entryCount(),
                  MembershipSource.EVENT,
                  LeaveReason.CRITERIA,
                  now),
              current.id(),
              applying));
    }

    void restamp(MembershipKey key, ActiveMembership current, Instant expiresAt) {
      if (java.util.Objects.equals(current.expiresAt(), expiresAt)) return;
      active.put(key, current.withExpiresAt(expiresAt));
      NewRow created = newRows.get(current.id());
      if (created != null) {
        created.expiresAt = expiresAt;
      } else {
        deadlines.put(current.id(), expiresAt);
      }
    }
  }
}
