package dev.bucketflow.membership;

import static dev.bucketflow.schema.Tables.BUCKET_CONFIGS;

import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketRegistry;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.jooq.DSLContext;

/** The loaded bucket definitions (registry) seen through the run-time enabled switch. */
public final class BucketCatalog {

  private final BucketRegistry registry;
  private final EnabledSwitch enabledSwitch;

  public BucketCatalog(BucketRegistry registry, EnabledSwitch enabledSwitch) {
    this.registry = registry;
    this.enabledSwitch = enabledSwitch;
  }

  public BucketRegistry registry() {
    return registry;
  }

  /**
   * Buckets an event must re-evaluate, and on: those naming the event or a payload property, and
   * every bucket depending on them through bucket conditions, in dependency order.
   */
  public List<BucketDefinition> candidates(String eventName, Collection<String> propertyNames) {
    // With their dependents, in dependency order: a transition of a candidate re-evaluates the
    // buckets whose bucket conditions name it, after it, for the same event.
    List<BucketDefinition> found =
        registry.withDependents(registry.candidates(eventName, propertyNames));
    if (found.isEmpty()) return found;
    return found.stream().filter(b -> enabledSwitch.isEnabled(b.id())).toList();
  }

  public Optional<BucketDefinition> byId(String id) {
    return registry.byId(id);
  }

  public boolean isOn(BucketDefinition bucket) {
    return bucket.enabled() && enabledSwitch.isEnabled(bucket.id());
  }

  /**
   * Creates the {@code bucket_configs} row of every loaded bucket, leaving existing switches alone.
   */
  public void registerConfigs(DSLContext dsl) {
    registerConfigs(dsl, java.time.Instant.now());
  }

  /**
   * As {@link #registerConfigs(DSLContext)}, and records each bucket's dwell list: a list that
   * differs from the stored one (a first deploy, an added threshold) restarts {@code dwell_since}
   * at {@code now}, so thresholds reached before it never fire (no burst; see {@link DwellEvents}).
   */
  public void registerConfigs(DSLContext dsl, java.time.Instant now) {
    if (registry.all().isEmpty()) return;
    var c = BUCKET_CONFIGS;
    var insert = dsl.insertInto(c, c.BUCKET_ID, c.ENABLED, c.DWELL, c.DWELL_SINCE);
    for (BucketDefinition b : registry.all())
      insert = insert.values(b.id(), b.enabled(), DwellEvents.spelling(b), now);
    insert
        .onConflict(c.BUCKET_ID)
        .doUpdate()
        .set(c.DWELL, org.jooq.impl.DSL.excluded(c.DWELL))
        .set(c.DWELL_SINCE, org.jooq.impl.DSL.excluded(c.DWELL_SINCE))
        .where(c.DWELL.ne(org.jooq.impl.DSL.excluded(c.DWELL)))
        .execute();
  }
}
