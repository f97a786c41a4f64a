package dev.bucketflow.reconcile;

import static dev.bucketflow.bucket.Criteria.any;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.bucket.MembershipStatus.ACTIVE;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.Evaluator;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.MembershipSource;
import dev.bucketflow.bucket.MembershipStatus;
import dev.bucketflow.bucket.UserState;
import dev.bucketflow.membership.BulkMemberships;
import dev.bucketflow.membership.ContactLocks;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/**
 * The parts of {@code bucketflow bench reconcile}: data generated set-based, the member sample, the
 * per-member baseline and the timed sweep. The command composes them (databases, copies, output);
 * the sweep itself is the real {@link ReconcileService}, built by the caller's composition root.
 *
 * <p>Data, for {@code members} contacts {@code bench-00000001...} and {@code events} events ({@code
 * events / members} slots per user, at least 8): every contact is an active member of both {@link
 * #COUNT} and {@link #COMPOSITE}, as if it had joined earlier. A deterministic hash of the user
 * number picks about {@code leavePercent} % of the members of each bucket (independently) whose
 * events have since aged out, so the sweep at {@code now} has real leaves to make:
 *
 * <ul>
 *   <li>slots 0–4, {@code key_action}: within the last 29 days; for a {@link #COUNT} leaver only
 *       two of them, the other three 31–60 days ago (2 &lt; 3 in the window);
 *   <li>slots 5–7, {@code app.active}: a {@link #COMPOSITE} leaver is never {@code pro} and has one
 *       in the last 6 days, two 8–60 days ago (1 &lt; 2); any other non-pro user has two in the
 *       last 6 days; a {@code pro} user's are anywhere in the last 60 days (the property alone
 *       holds);
 *   <li>the other slots: eight other event names, anywhere in the last 60 days.
 * </ul>
 *
 * Events are interleaved across users (event {@code i} belongs to user {@code i mod members}), as
 * events arriving in time order are: a user's rows are spread over the table, not clustered.
 */
public final class ReconcileBench {

  /** {@code key_action} count ≥ 3 within 30 days. */
  public static final BucketDefinition COUNT =
      BucketDefinition.builder("bench-count")
          .criteria(event("key_action").within(days(30)).atLeast(3))
          .build();

  /** Pro, or engaged: {@code plan = pro} OR {@code app.active} count ≥ 2 within 7 days. */
  public static final BucketDefinition COMPOSITE =
      BucketDefinition.builder("bench-composite")
          .criteria(any(prop("plan").eq("pro"), event("app.active").within(days(7)).atLeast(2)))
          .build();

  public static final List<BucketDefinition> BUCKETS = List.of(COUNT, COMPOSITE);

  /** Slots each user needs for the layout above. */
  public static final int MIN_EVENTS_PER_MEMBER = 8;

  static final List<String> OTHER_EVENTS =
      List.of(
          "page.view", "search", "login", "logout", "export", "invite.sent", "purchase", "signup");

  private ReconcileBench() {}

  /** One active membership row. */
  public record Member(long id, String userId) {}

  /**
   * The baseline on a sample: how many it evaluated, who it found failing (and left), and how long
   * it took.
   */
  public record Baseline(
      String bucketId,
      int evaluated,
      Set<String> sampled,
      Set<String> leaves,
      Duration wall,
      long statements) {
    public double rowsPerSecond() {
      return evaluated / Math.max(wall.toNanos() / 1e9, 1e-9);
    }
  }

  /**
   * One bucket's sweep: members it walked, counts, parts (activity calls), wall time, and who left.
   */
  public record Sweep(
      String bucketId,
      long members,
      BucketSweep counts,
      int parts,
      Duration wall,
      Set<String> left,
      long statements) {
    public double rowsPerSecond() {
      return members / Math.max(wall.toNanos() / 1e9, 1e-9);
    }
  }

  /**
   * Inserts the contacts, events and memberships described above in one transaction, then {@code
   * VACUUM ANALYZE}s (hint bits and visibility map set, statistics current: the state of a table
   * autovacuum has seen, so neither method pays first-read writes). Returns the time spent.
   */
  public static Duration generate(
      DSLContext dsl, int members, int events, int leavePercent, Instant now) {
    if (members < 1)
      throw new IllegalArgumentException("members: must be at least 1, got " + members);
    if ((long) events < (long) members * MIN_EVENTS_PER_MEMBER) {
      throw new IllegalArgumentException(
          "events: must be at least "
              + MIN_EVENTS_PER_MEMBER
              + " per member ("
              + (long) members * MIN_EVENTS_PER_MEMBER
              + "), got "
              + events);
    }
    long start = System.nanoTime();
    dsl.transaction(
        cfg -> {
          DSLContext tx = cfg.dsl();
          tx.execute("SELECT setseed(0.4242)");
          // hashint4 of the user number: deterministic, spread evenly, independent for the two
          // buckets.
          tx.execute(
              "CREATE TEMP TABLE bench_users ON COMMIT DROP AS "
                  + "SELECT g, 'bench-' || lpad(g::text, 8, '0') AS id, drops_count, drops_composite, "
                  + "CASE WHEN drops_composite THEN (CASE WHEN p < 60 THEN 'free' ELSE 'trial' END) "
                  + "WHEN p < 40 THEN 'pro' WHEN p < 75 THEN 'free' ELSE 'trial' END AS plan "
                  + "FROM (SELECT g, abs(hashint4(g) % 100) < {1} AS drops_count, abs(hashint4(-g) % 100) < {1} AS drops_composite, "
                  + "abs(hashint4(g # 1431655765) % 100) AS p FROM generate_series(1, {0}) g) s",
              DSL.val(members), DSL.val(leavePercent));
          tx.execute(
              "INSERT INTO contacts (external_id, email, properties, created_at, updated_at) "
                  + "SELECT id, id || '@example.com', jsonb_build_object('plan', plan), {0}, {0} FROM bench_users",
              DSL.val(now.minus(Duration.ofDays(90))));
          tx.execute(
              "INSERT INTO user_events (user_id, event, properties, occurred_at, received_at) "
                  + "SELECT u.id, CASE WHEN s.slot < 5 THEN 'key_action' WHEN s.slot < 8 THEN 'app.active' "
                  + "ELSE ("
                  + textArray(OTHER_EVENTS)
                  + ")[1 + s.i % "
                  + OTHER_EVENTS.size()
                  + "] END, '{}'::jsonb, t.at, t.at "
                  + "FROM (SELECT i, (i % {1}) + 1 AS g, i / {1} AS slot FROM generate_series(0, {2} - 1) i) s "
                  + "JOIN bench_users u USING (g) "
                  + "CROSS JOIN LATERAL (SELECT {0}::timestamptz - CASE "
                  + "  WHEN s.slot < 5 AND u.drops_count AND s.slot >= 2 THEN interval '31 days' + random() * interval '29 days' "
                  + "  WHEN s.slot < 5 THEN interval '1 minute' + random() * interval '29 days' "
                  + "  WHEN s.slot < 8 AND u.plan = 'pro' THEN interval '1 minute' + random() * interval '60 days' "
                  + "  WHEN s.slot < 8 AND u.drops_composite AND s.slot >= 6 THEN interval '8 days' + random() * interval '52 days' "
                  + "  WHEN s.slot < 7 THEN interval '1 minute' + random() * interval '6 days' "
                  + "  ELSE interval '1 minute' + random() * interval '60 days' END AS at) t",
              DSL.val(now),
              DSL.val(members),
              DSL.val(events));
          // Generated by SQL, not through EventLog: the all-time facts are computed once here.
          dev.bucketflow.event.EventLog.rebuildRollups(tx, "bench-");
          for (BucketDefinition bucket : BUCKETS) {
            // Joined a while ago by an earlier sweep or event; no deadline stamped (the clock-leave
            // walk reads none).
            tx.execute(
                "INSERT INTO bucket_memberships (user_id, user_email, bucket_id, status, entered_at, entry_count, "
                    + "source, last_evaluated_at, created_at, updated_at) "
                    + "SELECT id, id || '@example.com', {0}, {1}, {2}, 1, {3}, {2}, {2}, {2} FROM bench_users",
                DSL.val(bucket.id()),
                DSL.val(ACTIVE.db()),
                DSL.val(now.minus(Duration.ofDays(45))),
                DSL.val(MembershipSource.BACKFILL.db()));
          }
        });
    for (String table :
        List.of("contacts", "user_events", "user_event_rollups", "bucket_memberships"))
      dsl.execute("VACUUM ANALYZE " + table);
    return Duration.ofNanos(System.nanoTime() - start);
  }

  private static String textArray(List<String> names) {
    StringBuilder out = new StringBuilder("ARRAY[");
    for (int i = 0; i < names.size(); i++)
      out.append(i == 0 ? "" : ",").append('\'').append(names.get(i)).append('\'');
    return out.append("]::text[]").toString();
  }

  /** Active members of the bucket. */
  public static long activeMembers(DSLContext dsl, String bucketId) {
    var m = BUCKET_MEMBERSHIPS;
    return dsl.fetchCount(
        m, m.BUCKET_ID.eq(bucketId).and(m.STATUS.eq(ACTIVE)).and(m.DELETED_AT.isNull()));
  }

  /**
   * About {@code size} active members spread evenly over the bucket: every k-th in user order, k =
   * max(1, members / size), so the sample is the whole bucket when {@code size ≥ members}.
   */
  public static List<Member> sample(DSLContext dsl, String bucketId, int size) {
    var m = BUCKET_MEMBERSHIPS;
    long members = activeMembers(dsl, bucketId);
    long every = Math.max(1, members / Math.max(1, size));
    var n = DSL.rowNumber().over(DSL.orderBy(m.USER_ID)).as("n");
    var ranked =
        DSL.select(m.ID, m.USER_ID, n)
            .from(m)
            .where(m.BUCKET_ID.eq(bucketId).and(m.STATUS.eq(ACTIVE)).and(m.DELETED_AT.isNull()))
            .asTable("ranked");
    return dsl.select(ranked.field(m.ID), ranked.field(m.USER_ID))
        .from(ranked)
        .where(ranked.field(n).mod(every).eq(0))
        .orderBy(ranked.field(m.USER_ID))
        .limit(size)
        .fetch(r -> new Member(r.value1(), r.value2()));
  }

  /**
   * The naive implementation: one transaction per member, doing what a per-member reconcile would —
   * lock the contact, load its state (properties and the bucket's event history), run the in-memory
   * {@link Evaluator}, and leave it (compare-and-swap and transition) if it no longer matches. Same
   * lock discipline and same writes as the sweep, one member at a time.
   */
  public static Baseline perMember(
      DSLContext dsl,
      BucketDefinition bucket,
      List<Member> sample,
      UserStates states,
      TransitionWriter transitions,
      Instant now,
      java.util.function.LongSupplier statements) {
    BulkMemberships bulk = new BulkMemberships(states, transitions);
    Set<String> sampled = new LinkedHashSet<>();
    Set<String> leaves = new LinkedHashSet<>();
    long before = statements.getAsLong();
    long start = System.nanoTime();
    for (Member member : sample) {
      sampled.add(member.userId());
      boolean left =
          dsl.transactionResult(
              cfg -> {
                DSLContext tx = cfg.dsl();
                if (ContactLocks.lock(tx, List.of(member.userId())).isEmpty()) return false;
                UserState state =
                    states.load(tx, List.of(member.userId()), bucket, now).get(member.userId());
                if (Evaluator.matches(bucket.criteria(), state, now)) return false;
                return bulk.leave(
                        tx,
                        bucket,
                        BUCKET_MEMBERSHIPS.ID.eq(member.id()),
                        now,
                        MembershipSource.RECONCILE,
                        LeaveReason.CRITERIA)
                    == 1;
              });
      if (left) leaves.add(member.userId());
    }
    Duration wall = Duration.ofNanos(System.nanoTime() - start);
    return new Baseline(
        bucket.id(), sample.size(), sampled, leaves, wall, statements.getAsLong() - before);
  }

  /**
   * The baseline's read half for the first {@code n} members, untimed: JIT warm-up without writes.
   */
  public static void warmUp(
      DSLContext dsl,
      BucketDefinition bucket,
      List<Member> members,
      UserStates states,
      Instant now) {
    for (Member member : members) {
      dsl.transaction(
          cfg ->
              Evaluator.matches(
                  bucket.criteria(),
                  states
                      .load(cfg.dsl(), List.of(member.userId()), bucket, now)
                      .get(member.userId()),
                  now));
    }
  }

  /**
   * The bucket's whole sweep as the reconcile workflow drives it: activity parts of {@link
   * ReconcileService.Budget#DEFAULT}, each going on from the previous part's cursor, until done.
   * {@code members} is the count of active members before the sweep (the rows it walked).
   */
  public static Sweep sweep(
      DSLContext dsl,
      ReconcileService service,
      String bucketId,
      java.util.function.LongSupplier statements,
      java.util.function.LongSupplier excludedNanos) {
    long members = activeMembers(dsl, bucketId);
    long before = statements.getAsLong();
    long excludedBefore = excludedNanos.getAsLong();
    SweepProgress progress = SweepProgress.start(bucketId, SweepCursor.start());
    int parts = 0;
    long start = System.nanoTime();
    do {
      progress = service.sweep(bucketId, progress, ReconcileService.Budget.DEFAULT, p -> {});
      parts++;
    } while (!progress.done());
    long spent = System.nanoTime() - start - (excludedNanos.getAsLong() - excludedBefore);
    return new Sweep(
        bucketId,
        members,
        progress.counts(),
        parts,
        Duration.ofNanos(spent),
        left(dsl, bucketId),
        statements.getAsLong() - before);
  }

  /** Users whose membership of the bucket has left (the generated data starts with none). */
  public static Set<String> left(DSLContext dsl, String bucketId) {
    var m = BUCKET_MEMBERSHIPS;
    return new LinkedHashSet<>(
        dsl.select(m.USER_ID)
            .from(m)
            .where(m.BUCKET_ID.eq(bucketId).and(m.STATUS.eq(MembershipStatus.LEFT)))
            .orderBy(m.USER_ID)
            .fetch(m.USER_ID));
  }

  /** Human form of the two buckets' criteria, for the output. */
  public static List<String> describe() {
    List<String> out = new ArrayList<>();
    out.add(COUNT.id() + ": key_action count >= 3 within 30 days");
    out.add(COMPOSITE.id() + ": plan = pro OR app.active count >= 2 within 7 days");
    return out;
  }
}
