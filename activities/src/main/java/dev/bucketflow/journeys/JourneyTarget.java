package dev.bucketflow.journeys;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import dev.bucketflow.dispatch.OutboxRow;
import dev.bucketflow.dispatch.TransitionTarget;
import dev.bucketflow.membership.BucketCatalog;

/**
 * Routes a committed bucket transition to journeys as {@code bucket:entered:<id>} / {@code
 * bucket:left:<id>} (and the generic name when a journey binds to it). A join the entryLimit
 * suppressed ({@code emitted=false}) starts nothing.
 */
public final class JourneyTarget implements TransitionTarget {

  private final JourneyRouter router;
  private final BucketCatalog catalog;

  public JourneyTarget(JourneyRouter router, BucketCatalog catalog) {
    this.router = router;
    this.catalog = catalog;
  }

  @Override
  public void deliver(OutboxRow row) {
    if (!row.emitted()) return;
    String specific = "bucket:" + row.kind() + ":" + row.bucketId();
    String generic = "bucket:" + row.kind();
    String key =
        "bucket:" + row.bucketId() + ":" + row.userId() + ":" + row.kind() + ":" + row.epoch();
    ObjectNode props = Json.MAPPER.createObjectNode();
    props.put("bucketId", row.bucketId());
    props.put(
        "bucketName",
        catalog.byId(row.bucketId()).map(b -> b.displayName()).orElse(row.bucketId()));
    props.put("userId", row.userId());
    props.put("transition", row.kind().db());
    props.put("source", row.source().db());
    row.reason().ifPresent(r -> props.put("reason", r.db()));
    router.route(row.userId(), specific, props, key);
    if (router.journeys().wantsGenericTransition(generic))
      router.route(row.userId(), generic, props, key + ":generic");
  }
}
