package dev.bucketflow.backfill;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;
import static dev.bucketflow.schema.Tables.BUCKET_BACKFILL_JOBS;
import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;
import static dev.bucketflow.schema.Tables.BUCKET_MEMBERSHIPS;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.CONTACTS;

import dev.bucketflow.bucket.BackfillKind;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.BucketRegistry;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EnabledSwitch;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/**
 * {@code bucketflow bench backfill}: generates contacts and events with set-based SQL, then times a
 * first-time backfill of a count bucket and of a composite (absence-shaped) bucket through {@link
 * BackfillService}, chunk by chunk exactly as the workflow drives it.
 *
 * <p>Data, generated once per database (skipped when {@code bench-} contacts exist): contacts
 * {@code bench-00000001...} with a {@code plan} property (free 50%, trial 20%, pro 30%); events
 * over ten names and the last 60 days, users and names drawn skewed ({@code floor(n·random()²)}) so
 * that a few heavy users carry most events and {@code key_action} is the most frequent name, as in
 * a real product. Point it at a scratch database: it adds rows to {@code contacts} and {@code
 * user_events}, and resets only the two bench buckets' memberships and jobs.
 */
public final class BackfillBench {

  /** {@code key_action} count ≥ 5 within 30 days. */
  public static final BucketDefinition COUNT =
      BucketDefinition.builder("bench-count")
          .criteria(event("key_action").within(days(30)).atLeast(5))
          .build();

  /** Pro users active once but not in the last 7 days. */
  public static final BucketDefinition COMPOSITE =
      BucketDefinition.builder("bench-composite")
          .criteria(
              all(
                  prop("plan").eq("pro"),
                  event("app.active").exists(),
                  event("app.active").within(days(7)).notExists()))
          .build();

  /**
   * {@link #COUNT} edited to {@code key_action} count ≥ 4 within 21 days: a re-evaluation with
   * leaves and joins.
   */
  public static final BucketDefinition COUNT_EDITED =
      BucketDefinition.builder("bench-count")
          .criteria(event("key_action").within(days(21)).atLeast(4))
          .build();

  static final List<String> EVENT_NAMES =
      List.of(
          "key_action",
          "app.active",
          "page.view",
          "signup",
          "purchase",
          "invite.sent",
          "search",
          "export",
          "login",
          "logout");

  /**
   * One bucket's job: contacts walked, members joined and left, chunks, wall time, contacts/second.
   */
  public record BucketRun(
      String bucketId,
      BackfillKind kind,
      long processed,
      long joined,
      long left,
      int chunks,
      Duration wall,
      double rowsPerSecond,
      List<String> explain) {}

  /** The whole run; {@code generation} is zero when the data already existed. */
  public record Result(
      int contacts, int events, int chunkSize, Duration generation, List<BucketRun> buckets) {

    public String summary() {
      StringBuilder out =
          new StringBuilder(
              String.format(
                  Locale.ROOT,
                  "backfill bench: %,d contacts, %,d events, chunk %d, data generated in %.1f s%n",
                  contacts,
                  events,
                  chunkSize,
                  generation.toMillis() / 1000.0));
      for (BucketRun b : buckets) {
        out.append(
            String.format(
                Locale.ROOT,
                "  %-16s %-10s %,9d contacts  %,7d joined  %,7d left  %,5d chunks  %8.2f s  %,10.0f contacts/s%n",
                b.bucketId(),
                b.kind(),
                b.processed(),
                b.joined(),
                b.left(),
                b.chunks(),
                b.wall().toMillis() / 1000.0,
                b.rowsPerSecond()));
      }
      return out.toString();
    }
  }

  private BackfillBench() {}

  /**
   * Generates the data (unless present), then times (a) a first-time backfill of {@link #COUNT},
   * (b) one of {@link #COMPOSITE}, and (c) the re-evaluation of (a) after its criteria changed to
   * {@link #COUNT_EDITED} (leaves with emission, silent joins, deadlines restamped).
   */
  /** Builds the service under test for a set of buckets (the caller's composition root). */
  @FunctionalInterface
  public interface Services {
    BackfillService create(DSLContext dsl, List<BucketDefinition> buckets, int chunkSize);
  }

  public static Result run(DSLContext dsl, int contacts, int events, int chunkSize) {
    return run(dsl, contacts, events, chunkSize, BackfillBench::service);
  }

  public static Result run(
      DSLContext dsl, int contacts, int events, int chunkSize, Services services) {
    Instant now = Instant.now();
    Duration generation = generate(dsl, contacts, events, now);
    resetBenchBuckets(dsl, List.of(COUNT, COMPOSITE));
    BackfillService service = services.create(dsl, List.of(COUNT, COMPOSITE), chunkSize);
    List<BucketRun> runs = new ArrayList<>();
    runs.add(backfill(dsl, service, COUNT, BackfillKind.FIRST_TIME, chunkSize));
    runs.add(backfill(dsl, service, COMPOSITE, BackfillKind.FIRST_TIME, chunkSize));
    BackfillService edited = services.create(dsl, List.of(COUNT_EDITED, COMPOSITE), chunkSize);
    runs.add(backfill(dsl, edited, COUNT_EDITED, BackfillKind.REEVAL, chunkSize));
    return new Result(contacts, events, chunkSize, generation, runs);
  }

  private static BackfillService service(
      DSLContext dsl, List<BucketDefinition> buckets, int chunkSize) {
    BucketCatalog catalog =
        new BucketCatalog(
            new BucketRegistry(buckets),
            new EnabledSwitch(dsl, Duration.ofSeconds(30), Clock.systemUTC()));
    catalog.registerConfigs(dsl);
    return new BackfillService(
        dsl,
        catalog,
        new UserStates(new EventHistoryLoader()),
        TransitionWriter.withoutGenericEvents(),
        Clock.systemUTC(),
        chunkSize);
  }

  private static BucketRun backfill(
      DSLContext dsl,
      BackfillService service,
      BucketDefinition bucket,
      BackfillKind kind,
      int chunkSize) {
    long start = System.nanoTime();
    BackfillJob job = service.open(bucket.id(), BucketJson.fingerprint(bucket), kind);
    int chunks = 0;
    ChunkResult last;
    do {
      last = service.runChunk(job.id());
      chunks++;
    } while (!last.done());
    service.complete(job.id());
    Duration wall = Duration.ofNanos(System.nanoTime() - start);
    BackfillJob done = service.job(job.id()).orElseThrow();
    double seconds = Math.max(wall.toNanos() / 1e9, 1e-9);
    return new BucketRun(
        bucket.id(),
        kind,
        done.processed(),
        done.joined(),
        done.left(),
        chunks,
        wall,
        done.processed() / seconds,
        explain(dsl, bucket, kind, chunkSize));
  }

  /**
   * {@code EXPLAIN (ANALYZE, BUFFERS)} of the per-chunk range queries — the next chunk of contact
   * ids, the join candidates of that range and, for a re-evaluation, the members of that range —
   * for a chunk in the middle of the key space (after the job, so the bucket has its members).
   */
  public static List<String> explain(
      DSLContext dsl, BucketDefinition bucket, BackfillKind kind, int chunkSize) {
    var c = CONTACTS;
    long live = dsl.fetchCount(c, c.DELETED_AT.isNull());
    String after =
        dsl.select(c.EXTERNAL_ID)
            .from(c)
            .where(c.DELETED_AT.isNull())
            .orderBy(c.EXTERNAL_ID)
            .offset(Math.max(0, live / 2 - 1))
            .limit(1)
            .fetchOne(c.EXTERNAL_ID);
    if (after == null) return List.of();
    var range =
        dsl.select(c.EXTERNAL_ID)
            .from(c)
            .where(c.EXTERNAL_ID.gt(after).and(c.DELETED_AT.isNull()))
            .orderBy(c.EXTERNAL_ID)
            .limit(chunkSize);
    List<String> ids = range.fetch(c.EXTERNAL_ID);
    if (ids.isEmpty()) return List.of();
    List<String> out = new ArrayList<>();
    out.add("-- next chunk of contact ids");
    out.addAll(plan(dsl, dsl.renderInlined(range)));
    var keys = new BackfillService.KeyRange(after, ids.get(ids.size() - 1));
    out.add("-- join candidates of the chunk (" + bucket.id() + ", " + kind + ")");
    out.addAll(
        plan(
            dsl,
            dsl.renderInlined(BackfillService.joinCandidates(dsl, bucket, keys, Instant.now()))));
    if (kind == BackfillKind.REEVAL) {
      out.add("-- members of the chunk, re-evaluated (" + bucket.id() + ")");
      out.addAll(
          plan(
              dsl,
              dsl.renderInlined(BackfillService.membersOfRange(dsl, bucket, keys, Instant.now()))));
    }
    return out;
  }

  private static List<String> plan(DSLContext dsl, String sql) {
    return dsl.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql).getValues(0, String.class);
  }

  /** Inserts the data set unless bench contacts exist already; returns the time spent. */
  static Duration generate(DSLContext dsl, int contacts, int events, Instant now) {
    var c = CONTACTS;
    if (dsl.fetchExists(c, c.EXTERNAL_ID.like("bench-%"))) return Duration.ZERO;
    long start = System.nanoTime();
    dsl.transaction(
        cfg -> {
          DSLContext tx = cfg.dsl();
          tx.execute("SELECT setseed(0.4242)");
          tx.execute(
              "INSERT INTO contacts (external_id, email, properties, created_at, updated_at) "
                  + "SELECT 'bench-' || lpad(g::text, 8, '0'), 'bench-' || g || '@example.com', "
                  + "jsonb_build_object('plan', CASE WHEN r < 0.5 THEN 'free' WHEN r < 0.7 THEN 'trial' ELSE 'pro' END), "
                  + "{0}, {0} FROM (SELECT g, random() AS r FROM generate_series(1, {1}) g) s ON CONFLICT DO NOTHING",
              DSL.val(now), DSL.val(contacts));
          StringBuilder names = new StringBuilder("(ARRAY[");
          for (int i = 0; i < EVENT_NAMES.size(); i++)
            names.append(i == 0 ? "" : ",").append('\'').append(EVENT_NAMES.get(i)).append('\'');
          names.append("]::text[])");
          tx.execute(
              "INSERT INTO user_events (user_id, event, properties, occurred_at, received_at) "
                  + "SELECT 'bench-' || lpad((1 + floor({2} * random() ^ 2))::int::text, 8, '0'), "
                  + names
                  + "[1 + floor(10 * random() ^ 2)::int], '{}'::jsonb, t, t "
                  + "FROM (SELECT {0} - random() * interval '60 days' AS t FROM generate_series(1, {1})) s",
              DSL.val(now),
              DSL.val(events),
              DSL.val(contacts));
          // Generated by SQL, not through EventLog: the all-time facts are computed once here.
          dev.bucketflow.event.EventLog.rebuildRollups(tx, "bench-");
        });
    dsl.execute("ANALYZE contacts");
    dsl.execute("ANALYZE user_events");
    dsl.execute("ANALYZE user_event_rollups");
    return Duration.ofNanos(System.nanoTime() - start);
  }

  private static void resetBenchBuckets(DSLContext dsl, List<BucketDefinition> buckets) {
    List<String> ids = buckets.stream().map(BucketDefinition::id).toList();
    dsl.deleteFrom(BUCKET_MEMBERSHIPS).where(BUCKET_MEMBERSHIPS.BUCKET_ID.in(ids)).execute();
    dsl.deleteFrom(BUCKET_TRANSITIONS).where(BUCKET_TRANSITIONS.BUCKET_ID.in(ids)).execute();
    dsl.deleteFrom(BUCKET_BACKFILL_JOBS).where(BUCKET_BACKFILL_JOBS.BUCKET_ID.in(ids)).execute();
    dsl.deleteFrom(BUCKET_CONFIGS).where(BUCKET_CONFIGS.BUCKET_ID.in(ids)).execute();
  }

  /** {@code BackfillBench <jdbcUrl> [contacts] [events] [chunkSize]} for a quick run by hand. */
  public static void main(String[] args) {
    if (args.length < 1) {
      System.err.println(
          "usage: BackfillBench <jdbcUrl> [contacts=100000] [events=1000000] [chunkSize=1000]");
      System.exit(2);
    }
    int contacts = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
    int events = args.length > 2 ? Integer.parseInt(args[2]) : 1_000_000;
    int chunk = args.length > 3 ? Integer.parseInt(args[3]) : 1000;
    try (var pool =
        dev.bucketflow.db.Database.pool(
            args[0],
            System.getenv().getOrDefault("PGUSER", "postgres"),
            System.getenv("PGPASSWORD"),
            4)) {
      dev.bucketflow.db.Database.migrate(pool);
      Result result = run(dev.bucketflow.db.Database.dsl(pool), contacts, events, chunk);
      System.out.print(result.summary());
      Map<String, List<String>> plans = new LinkedHashMap<>();
      result.buckets().forEach(b -> plans.put(b.bucketId(), b.explain()));
      plans.forEach((id, lines) -> lines.forEach(System.out::println));
    }
  }
}
