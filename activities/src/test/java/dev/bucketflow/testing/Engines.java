package dev.bucketflow.testing;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketRegistry;
import dev.bucketflow.membership.BucketCatalog;
import dev.bucketflow.membership.EnabledSwitch;
import dev.bucketflow.membership.EventHistoryLoader;
import dev.bucketflow.membership.MembershipEngine;
import dev.bucketflow.membership.MembershipStore;
import dev.bucketflow.membership.TransitionWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.jooq.DSLContext;

/** Wires a membership engine the way the worker does, for tests. */
public final class Engines {

  public static BucketCatalog catalog(DSLContext dsl, List<BucketDefinition> buckets) {
    BucketCatalog catalog =
        new BucketCatalog(
            new BucketRegistry(buckets), new EnabledSwitch(dsl, Duration.ZERO, Clock.systemUTC()));
    catalog.registerConfigs(dsl);
    return catalog;
  }

  public static MembershipEngine engine(DSLContext dsl, List<BucketDefinition> buckets) {
    return new MembershipEngine(
        catalog(dsl, buckets),
        new MembershipStore(),
        new EventHistoryLoader(),
        TransitionWriter.withoutGenericEvents());
  }

  private Engines() {}
}
