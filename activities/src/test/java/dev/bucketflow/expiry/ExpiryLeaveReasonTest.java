package dev.bucketflow.expiry;

import static dev.bucketflow.bucket.Criteria.event;
import static dev.bucketflow.bucket.Criteria.prop;
import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;
import static dev.bucketflow.testing.Events.batch;
import static dev.bucketflow.testing.Events.event;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.LeaveReason;
import dev.bucketflow.bucket.TransitionKind;
import dev.bucketflow.ingest.IngestService;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
import dev.bucketflow.membership.TransitionWriter;
import dev.bucketflow.membership.UserStates;
import dev.bucketflow.testing.DatabaseTest;
import dev.bucketflow.testing.Engines;
import dev.bucketflow.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A fast-expiry watch's leave says whether the criteria lapsed or maxDwell ran out. */
class ExpiryLeaveReasonTest extends DatabaseTest {

  static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");
  static final BucketDefinition TICKING =
      BucketDefinition.builder("ticking")
          .criteria(event("tick").within(Duration.ofHours(1)).exists())
          .fastExpiry(true)
          .build();
  static final BucketDefinition CAPPED =
      BucketDefinition.builder("capped-fast")
          .criteria(prop("vip").eq(true))
          .maxDwell(Duration.ofHours(2))
          .fastExpiry(true)
          .build();

  MutableClock clock;
  IngestService ingest;
  ExpiryService expiry;

  @BeforeEach
  void reset() {
    dsl.execute(
        "TRUNCATE user_events, user_event_keys, user_event_rollups, contacts, ingest_batches, bucket_memberships, bucket_transitions, bucket_configs");
    clock = new MutableClock(T0);
    BucketCatalog catalog = Engines.catalog(dsl, List.of(TICKING, CAPPED));
    EventHistoryLoader history = new EventHistoryLoader();
    ingest =
        new IngestService(
            dsl,
            new MembershipEngine(
                catalog, new MembershipStore(), history, TransitionWriter.withoutGenericEvents()),
            clock);
    expiry =
        new ExpiryService(
            dsl, catalog, new UserStates(history), TransitionWriter.withoutGenericEvents(), clock);
  }

  @Test
  void aLapsedWindowLeavesForCriteriaAndAnExpiredMaxDwellForMaxDwell() {
    ingest.apply(batch(clock.instant(), event("u1", "tick", "{\"vip\":true}")));
    clock.advance(Duration.ofHours(1)); // the tick's window closes; u1 is still a vip
    assertThat(
            expiry.leaveOrExtend(
                new ExpiryRequest(TICKING.id(), "u1", 1, clock.instant().toEpochMilli())))
        .isEqualTo(ExpiryCheck.left());
    assertThat(
            expiry
                .leaveOrExtend(
                    new ExpiryRequest(CAPPED.id(), "u1", 1, clock.instant().toEpochMilli()))
                .status())
        .as("still within maxDwell")
        .isEqualTo(ExpiryCheck.Status.EXTENDED);
    clock.advance(Duration.ofHours(1));
    assertThat(
            expiry.leaveOrExtend(
                new ExpiryRequest(CAPPED.id(), "u1", 1, clock.instant().toEpochMilli())))
        .isEqualTo(ExpiryCheck.left());

    var t = BUCKET_TRANSITIONS;
    assertThat(
            dsl.select(t.BUCKET_ID, t.REASON)
                .from(t)
                .where(t.KIND.eq(TransitionKind.LEFT))
                .orderBy(t.ID)
                .fetch()
                .map(r -> r.value1() + ":" + r.value2()))
        .containsExactly("ticking:" + LeaveReason.CRITERIA, "capped-fast:" + LeaveReason.MAX_DWELL);
  }
}
