package dev.bucketflow.worker;

import static dev.bucketflow.bucket.Criteria.all;
import static dev.bucketflow.bucket.Criteria.any;
import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.bucket.Durations.days;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketValidator;
import dev.bucketflow.bucket.Criterion;
import dev.bucketflow.bucket.EntryLimit;
import dev.bucketflow.bucket.Problem;
import dev.bucketflow.db.Json;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * The synthetic workload of {@code bench ingest}, a pure function of its parameters and seed:
 * buckets of every criteria shape the engine supports over a small vocabulary (ten event names, ten
 * property names), and an event stream in which a hot twentieth of the users sends half the
 * traffic, so counts really cross thresholds and users really join and leave.
 */
final class BenchWorkload {

  /** Ten event names, most frequent first (see {@link #EVENT_WEIGHTS}). */
  static final List<String> EVENTS =
      List.of(
          "app.active",
          "page_view",
          "key_action",
          "feature_used",
          "purchase",
          "invite_sent",
          "support_ticket",
          "signup",
          "upgrade",
          "logout");

  static final int[] EVENT_WEIGHTS = {25, 20, 15, 10, 5, 5, 5, 5, 5, 5};

  /** Ten property names, each with a small domain so equality criteria match often enough. */
  static final List<String> PROPERTIES =
      List.of(
          "plan",
          "country",
          "trial_days_left",
          "seats",
          "converted",
          "source",
          "beta",
          "score",
          "locale",
          "role");

  private static final String[] PLANS = {"trial", "free", "pro", "enterprise"};
  private static final String[] COUNTRIES = {"us", "de", "fr", "br", "in", "jp"};
  private static final String[] SOURCES = {"ads", "organic", "referral", "partner"};
  private static final String[] LOCALES = {"en", "de", "fr", "pt", "ja"};
  private static final String[] ROLES = {"admin", "member", "viewer"};
  private static final String[] FREQUENT = {
    "app.active", "page_view", "key_action", "feature_used"
  };

  private BenchWorkload() {}

  // ------------------------------------------------------------------ buckets

  /**
   * {@code n} valid bucket definitions cycling through eight shapes: property eq; eq + lte + neq;
   * count ≥ k within d days; exists within d days; lapsed (all-time exists + 7-day not_exists); OR
   * of a property and a windowed count; numeric gte + eq + neq; nested OR/AND of event legs. Entry
   * limits cycle through unlimited, once and once per 7 days.
   */
  static List<BucketDefinition> buckets(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
    List<BucketDefinition> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String shape;
      Criterion criteria;
      switch (i % 8) {
        case 0 -> {
          String[] pick =
              switch (r.nextInt(3)) {
                case 0 -> new String[] {"plan", pick(r, PLANS)};
                case 1 -> new String[] {"country", pick(r, COUNTRIES)};
                default -> new String[] {"role", pick(r, ROLES)};
              };
          shape = pick[0] + "-is-" + pick[1];
          criteria = prop(pick[0]).eq(pick[1]);
        }
        case 1 -> {
          shape = "trial-expiring";
          criteria =
              all(
                  prop("plan").eq("trial"),
                  prop("trial_days_left").lte(2 + r.nextInt(6)),
                  prop("converted").neq(true));
        }
        case 2 -> {
          String e = pick(r, FREQUENT);
          int k = 2 + r.nextInt(4);
          long d = new long[] {7, 14, 30}[r.nextInt(3)];
          shape = slug(e) + "-" + k + "x-" + d + "d";
          criteria = event(e).within(days(d)).atLeast(k);
        }
        case 3 -> {
          String e = pick(r, EVENTS.toArray(String[]::new));
          long d = new long[] {1, 3, 7, 14}[r.nextInt(4)];
          shape = slug(e) + "-within-" + d + "d";
          criteria = event(e).within(days(d)).exists();
        }
        case 4 -> {
          String ever = pick(r, new String[] {"signup", "app.active", "purchase"});
          String quiet = pick(r, new String[] {"app.active", "key_action", "page_view"});
          shape = slug(ever) + "-but-no-" + slug(quiet) + "-7d";
          criteria = all(event(ever).exists(), event(quiet).within(days(7)).notExists());
        }
        case 5 -> {
          String plan = pick(r, new String[] {"pro", "enterprise"});
          String e = pick(r, FREQUENT);
          int k = 3 + r.nextInt(3);
          shape = plan + "-or-" + slug(e) + "-" + k + "x";
          criteria = any(prop("plan").eq(plan), event(e).within(days(14)).atLeast(k));
        }
        case 6 -> {
          int score = 50 + r.nextInt(41);
          String country = pick(r, COUNTRIES);
          shape = "score-" + score + "-" + country;
          criteria =
              all(prop("score").gte(score), prop("country").eq(country), prop("beta").neq(false));
        }
        default -> {
          String e1 = pick(r, FREQUENT);
          String e2 =
              pick(r, new String[] {"invite_sent", "upgrade", "purchase", "support_ticket"});
          shape = "busy-or-admin-" + slug(e2);
          criteria =
              any(
                  event(e1).within(days(7)).atLeast(2 + r.nextInt(3)),
                  all(prop("role").eq("admin"), event(e2).within(days(30)).exists()));
        }
      }
      BucketDefinition.Builder b =
          BucketDefinition.builder(String.format("bench-%02d-%s", i, shape))
              .name("bench " + i + " " + shape)
              .criteria(criteria);
      if (i % 3 == 1) b.entryLimit(EntryLimit.ONCE);
      if (i % 3 == 2) b.oncePer(days(7));
      out.add(b.build());
    }
    List<Problem> problems = BucketValidator.validate(out);
    if (!problems.isEmpty())
      throw new IllegalStateException("synthetic buckets are invalid: " + problems);
    return out;
  }

  private static String slug(String eventName) {
    return eventName.replace('.', '-').replace('_', '-');
  }

  private static String pick(SplittableRandom r, String[] values) {
    return values[r.nextInt(values.length)];
  }

  // ------------------------------------------------------------------ events

  /**
   * {@code total} events, generated lazily and identically for the same arguments, so every phase
   * (and a phase that stops early, like the baseline) replays the same prefix. Half the events come
   * from a hot twentieth of the users; 40% carry one or two properties.
   *
   * <p>Properties are sticky, as real ones are: a user's value of a property is a fixed function of
   * (seed, user, property), except that one time in five it is a fresh random value (a plan change,
   * a new score). Occurrence times are drawn uniformly from {@code [from, to)}, independently of
   * stream position, so that any prefix has the same mix of in-window and out-of-window events as
   * the whole stream: the baseline's rate on a prefix is then comparable with the batched rate on
   * the whole.
   */
  static final class EventStream {
    private final SplittableRandom r;
    private final int users;
    private final int hot;
    private final int total;
    private final Instant from;
    private final long spanMillis;
    private final int weightSum;
    private final long seed;
    private int produced;

    EventStream(long seed, int users, int total, Instant from, Instant to) {
      this.r = new SplittableRandom(seed);
      this.seed = seed;
      this.users = users;
      this.hot = Math.max(1, users / 20);
      this.total = total;
      this.from = from;
      this.spanMillis = Duration.between(from, to).toMillis();
      int sum = 0;
      for (int w : EVENT_WEIGHTS) sum += w;
      this.weightSum = sum;
    }

    boolean hasNext() {
      return produced < total;
    }

    ObjectNode next() {
      if (!hasNext()) throw new NoSuchElementException();
      int user = r.nextBoolean() ? r.nextInt(hot) : r.nextInt(users);
      ObjectNode e = Json.MAPPER.createObjectNode();
      e.put("userId", "u" + user);
      e.put("event", eventName());
      if (r.nextInt(10) < 4) {
        ObjectNode props = e.putObject("properties");
        int n = 1 + r.nextInt(2);
        for (int i = 0; i < n; i++) {
          String name = PROPERTIES.get(r.nextInt(PROPERTIES.size()));
          // Sticky: the user's own value, unless this event changes it.
          SplittableRandom values =
              r.nextInt(5) == 0 ? r : new SplittableRandom(mix(seed, user, name));
          putProperty(props, name, values);
        }
      }
      e.put("occurredAt", from.plusMillis(spanMillis <= 0 ? 0 : r.nextLong(spanMillis)).toString());
      produced++;
      return e;
    }

    private String eventName() {
      int x = r.nextInt(weightSum);
      for (int i = 0; i < EVENT_WEIGHTS.length; i++) {
        x -= EVENT_WEIGHTS[i];
        if (x < 0) return EVENTS.get(i);
      }
      return EVENTS.get(0);
    }

    private static long mix(long seed, int user, String property) {
      long h = seed * 0x9E3779B97F4A7C15L + user;
      return h * 31 + property.hashCode();
    }

    private static void putProperty(ObjectNode props, String name, SplittableRandom r) {
      switch (name) {
        case "plan" -> props.put(name, pick(r, PLANS));
        case "country" -> props.put(name, pick(r, COUNTRIES));
        case "trial_days_left" -> props.put(name, r.nextInt(15));
        case "seats" -> props.put(name, 1 + r.nextInt(50));
        case "converted" -> props.put(name, r.nextInt(5) == 0);
        case "source" -> props.put(name, pick(r, SOURCES));
        case "beta" -> props.put(name, r.nextBoolean());
        case "score" -> props.put(name, r.nextInt(101));
        case "locale" -> props.put(name, pick(r, LOCALES));
        default -> props.put(name, pick(r, ROLES));
      }
    }
  }
}
