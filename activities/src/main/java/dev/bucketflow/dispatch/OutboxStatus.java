package dev.bucketflow.dispatch;

import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.schema.Tables.JOURNEY_OUTBOX;
import static dev.bucketflow.schema.Tables.POSTHOG_MIRROR;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/**
 * What delivery has left to do and what it set aside, for {@code bucketflow outbox} and the admin
 * API; and putting parked rows back in line.
 */
public final class OutboxStatus {

  /** Streams by their public names. */
  public enum Stream {
    TRANSITIONS("transitions"),
    JOURNEY_EVENTS("journey-events"),
    POSTHOG("posthog");

    private final String label;

    Stream(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }

    public static Optional<Stream> of(String label) {
      for (Stream s : values()) if (s.label.equals(label)) return Optional.of(s);
      return Optional.empty();
    }
  }

  /** Counts of one stream; {@code oldestPending} is when its oldest undelivered row was written. */
  public record Counts(
      Stream stream, long pending, long retrying, long parked, Optional<Instant> oldestPending) {}

  /**
   * A row set aside after the attempt bound. {@code key} is the row id, or {@code user/bucket} for
   * a mirror state; {@code what} says what it carries.
   */
  public record Parked(
      Stream stream,
      String key,
      String userId,
      String what,
      int attempts,
      String lastError,
      Instant parkedAt) {}

  private final DSLContext dsl;

  public OutboxStatus(DSLContext dsl) {
    this.dsl = dsl;
  }

  public List<Counts> counts() {
    var t = BUCKET_TRANSITIONS;
    var o = JOURNEY_OUTBOX;
    var p = POSTHOG_MIRROR;
    List<Counts> out = new ArrayList<>();
    var tr =
        dsl.select(
                DSL.count().filterWhere(t.DISPATCHED_AT.isNull().and(t.PARKED_AT.isNull())),
                DSL.count()
                    .filterWhere(
                        t.DISPATCHED_AT.isNull().and(t.PARKED_AT.isNull()).and(t.ATTEMPTS.gt(0))),
                DSL.count().filterWhere(t.PARKED_AT.isNotNull()),
                DSL.min(t.CREATED_AT)
                    .filterWhere(t.DISPATCHED_AT.isNull().and(t.PARKED_AT.isNull())))
            .from(t)
            .where(t.DISPATCHED_AT.isNull())
            .fetchOne();
    out.add(
        new Counts(
            Stream.TRANSITIONS,
            tr.value1(),
            tr.value2(),
            tr.value3(),
            Optional.ofNullable(tr.value4())));
    var je =
        dsl.select(
                DSL.count().filterWhere(o.PARKED_AT.isNull()),
                DSL.count().filterWhere(o.PARKED_AT.isNull().and(o.ATTEMPTS.gt(0))),
                DSL.count().filterWhere(o.PARKED_AT.isNotNull()),
                DSL.min(o.CREATED_AT).filterWhere(o.PARKED_AT.isNull()))
            .from(o)
            .where(o.DISPATCHED_AT.isNull())
            .fetchOne();
    out.add(
        new Counts(
            Stream.JOURNEY_EVENTS,
            je.value1(),
            je.value2(),
            je.value3(),
            Optional.ofNullable(je.value4())));
    var ph =
        dsl.select(
                DSL.count().filterWhere(p.PARKED_AT.isNull()),
                DSL.count().filterWhere(p.PARKED_AT.isNull().and(p.ATTEMPTS.gt(0))),
                DSL.count().filterWhere(p.PARKED_AT.isNotNull()),
                DSL.min(p.CHANGED_AT).filterWhere(p.PARKED_AT.isNull()))
            .from(p)
            .where(p.SENT_VERSION.isDistinctFrom(p.VERSION))
            .fetchOne();
    out.add(
        new Counts(
            Stream.POSTHOG,
            ph.value1(),
            ph.value2(),
            ph.value3(),
            Optional.ofNullable(ph.value4())));
    return out;
  }

  /** Parked rows of every stream, newest first, at most {@code limit}. */
  public List<Parked> parked(int limit) {
    var t = BUCKET_TRANSITIONS;
    var o = JOURNEY_OUTBOX;
    var p = POSTHOG_MIRROR;
    List<Parked> out = new ArrayList<>();
    dsl.select(t.ID, t.USER_ID, t.BUCKET_ID, t.KIND, t.EPOCH, t.ATTEMPTS, t.LAST_ERROR, t.PARKED_AT)
        .from(t)
        .where(t.PARKED_AT.isNotNull())
        .orderBy(t.PARKED_AT.desc())
        .limit(limit)
        .forEach(
            r ->
                out.add(
                    new Parked(
                        Stream.TRANSITIONS,
                        String.valueOf(r.value1()),
                        r.value2(),
                        r.value4() + " " + r.value3() + " (epoch " + r.value5() + ")",
                        r.value6(),
                        r.value7(),
                        r.value8())));
    dsl.select(o.ID, o.USER_ID, o.EVENT, o.ATTEMPTS, o.LAST_ERROR, o.PARKED_AT)
        .from(o)
        .where(o.PARKED_AT.isNotNull())
        .orderBy(o.PARKED_AT.desc())
        .limit(limit)
        .forEach(
            r ->
                out.add(
                    new Parked(
                        Stream.JOURNEY_EVENTS,
                        String.valueOf(r.value1()),
                        r.value2(),
                        r.value3(),
                        r.value4(),
                        r.value5(),
                        r.value6())));
    dsl.select(
            p.USER_ID, p.BUCKET_ID, p.MEMBER, p.PROPERTY_KEY, p.ATTEMPTS, p.LAST_ERROR, p.PARKED_AT)
        .from(p)
        .where(p.PARKED_AT.isNotNull())
        .orderBy(p.PARKED_AT.desc())
        .limit(limit)
        .forEach(
            r ->
                out.add(
                    new Parked(
                        Stream.POSTHOG,
                        r.value1() + "/" + r.value2(),
                        r.value1(),
                        (r.value3() ? "$set " : "$unset ") + r.value4(),
                        r.value5(),
                        r.value6(),
                        r.value7())));
    out.sort(Comparator.comparing(Parked::parkedAt).reversed());
    return out.size() > limit ? out.subList(0, limit) : out;
  }

  /**
   * Puts parked rows back in line with fresh attempts: all of them, or those of one stream, or one
   * row ({@code key} as {@link Parked#key()}). Returns how many. The delivery workflows pick them
   * up at their next pass.
   */
  public int retry(Optional<Stream> stream, Optional<String> key) {
    int n = 0;
    if (stream.isEmpty() || stream.get() == Stream.TRANSITIONS) {
      var t = BUCKET_TRANSITIONS;
      var which =
          t.PARKED_AT.isNotNull().and(key.map(k -> t.ID.eq(parseId(k))).orElse(DSL.noCondition()));
      n +=
          dsl.update(t)
              .setNull(t.PARKED_AT)
              .set(t.ATTEMPTS, 0)
              .setNull(t.NEXT_ATTEMPT_AT)
              .where(which)
              .execute();
    }
    if (stream.isEmpty() || stream.get() == Stream.JOURNEY_EVENTS) {
      var o = JOURNEY_OUTBOX;
      var which =
          o.PARKED_AT.isNotNull().and(key.map(k -> o.ID.eq(parseId(k))).orElse(DSL.noCondition()));
      n +=
          dsl.update(o)
              .setNull(o.PARKED_AT)
              .set(o.ATTEMPTS, 0)
              .setNull(o.NEXT_ATTEMPT_AT)
              .where(which)
              .execute();
    }
    if (stream.isEmpty() || stream.get() == Stream.POSTHOG) {
      var p = POSTHOG_MIRROR;
      var which =
          p.PARKED_AT
              .isNotNull()
              .and(
                  key.map(
                          k -> {
                            int slash = k.indexOf('/');
                            if (slash < 0)
                              throw new IllegalArgumentException(
                                  "key: a mirror state is user/bucket, got '" + k + "'");
                            return p.USER_ID
                                .eq(k.substring(0, slash))
                                .and(p.BUCKET_ID.eq(k.substring(slash + 1)));
                          })
                      .orElse(DSL.noCondition()));
      n +=
          dsl.update(p)
              .setNull(p.PARKED_AT)
              .set(p.ATTEMPTS, 0)
              .setNull(p.NEXT_ATTEMPT_AT)
              .where(which)
              .execute();
    }
    return n;
  }

  private static long parseId(String key) {
    try {
      return Long.parseLong(key);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("key: a row id is a number, got '" + key + "'");
    }
  }
}
