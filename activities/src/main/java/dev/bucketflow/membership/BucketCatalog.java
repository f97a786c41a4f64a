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

  /** Buckets an event must re-evaluate: referenced by name or by a payload property, and on. */
  public List<BucketDefinition> candidates(String eventName, Collection<String> propertyNames) {
    List<BucketDefinition> found = registry.candidates(eventName, propertyNames);
    if (found.isEmpty()) return found;
    return found.stream().filter(b -> enabledSwitch.isEnabled(b.id())).toList();
  }

  public Optional<BucketDefinition> byId(String id) {
    return registry.byId(id);
  }

  public boolean isOn(BucketDefinition bucket) {
    return bucket.enabled() && enabledSwitch.isEnabled(bucket.id());
  }

  /** Creates the {@code bucket_configs} row of every loaded bucket, leaving existing switches alone. */
  public void registerConfigs(DSLContext dsl) {
    if (registry.all().isEmpty()) return;
    var c = BUCKET_CONFIGS;
    var insert = dsl.insertInto(c, c.BUCKET_ID, c.ENABLED);
    for (BucketDefinition b : registry.all()) insert = insert.values(b.id(), b.enabled());
    insert.onConflictDoNothing().execute();
  }
}
