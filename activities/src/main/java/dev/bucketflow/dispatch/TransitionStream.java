package dev.bucketflow.dispatch;

import static dev.bucketflow.schema.Tables.BUCKET_TRANSITIONS;

import java.util.List;
import java.util.Optional;
import org.jooq.Field;
import org.jooq.Record;

/**
 * {@code bucket_transitions} to its targets (fast-expiry arming, journeys, the PostHog mirror), in
 * that order.
 */
public final class TransitionStream implements OutboxStream<OutboxRow> {

  private static final OutboxTable COLUMNS =
      new OutboxTable(
          BUCKET_TRANSITIONS,
          BUCKET_TRANSITIONS.ID,
          BUCKET_TRANSITIONS.USER_ID,
          BUCKET_TRANSITIONS.SHARD,
          BUCKET_TRANSITIONS.DISPATCHED_AT,
          BUCKET_TRANSITIONS.ATTEMPTS,
          BUCKET_TRANSITIONS.NEXT_ATTEMPT_AT,
          BUCKET_TRANSITIONS.LAST_ERROR,
          BUCKET_TRANSITIONS.PARKED_AT);

  private final List<TransitionTarget> targets;

  public TransitionStream(List<TransitionTarget> targets) {
    this.targets = List.copyOf(targets);
  }

  @Override
  public String name() {
    return "transitions";
  }

  @Override
  public OutboxTable columns() {
    return COLUMNS;
  }

  @Override
  public List<Field<?>> payload() {
    var t = BUCKET_TRANSITIONS;
    return List.of(t.BUCKET_ID, t.KIND, t.EPOCH, t.SOURCE, t.EMITTED, t.CREATED_AT, t.REASON);
  }

  @Override
  public OutboxRow map(Record r) {
    var t = BUCKET_TRANSITIONS;
    return new OutboxRow(
        r.get(t.ID),
        r.get(t.BUCKET_ID),
        r.get(t.USER_ID),
        r.get(t.KIND),
        r.get(t.EPOCH),
        r.get(t.SOURCE),
        r.get(t.EMITTED),
        r.get(t.CREATED_AT),
        Optional.ofNullable(r.get(t.REASON)));
  }

  @Override
  public void deliver(OutboxRow row, DeliveryStep.Control control) throws Exception {
    for (int i = 0; i < targets.size(); i++) {
      if (i > 0 && !control.proceed()) throw new LeaseLost();
      targets.get(i).deliver(row);
    }
  }
}
