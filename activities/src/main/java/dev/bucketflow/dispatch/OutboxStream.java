package dev.bucketflow.dispatch;

import java.util.List;
import org.jooq.Field;
import org.jooq.Record;

/**
 * One outbox table and how its rows reach their targets. The {@link OutboxDispatcher} reads pending
 * rows in id order (which, per user, is commit order: every writer of a user's rows holds that
 * contact's row lock) and calls {@link #deliver} outside any transaction.
 *
 * @param <T> a row as the targets see it
 */
public interface OutboxStream<T> {

  /** A short name for logs and the {@code outbox} listing. */
  String name();

  OutboxTable columns();

  /** The columns {@link #map} reads besides the delivery columns. */
  List<Field<?>> payload();

  T map(Record record);

  /**
   * Delivers to every target; throws to have the row retried (each target must be idempotent). A
   * stream with several targets asks {@code control} before each further one, and stops with {@link
   * LeaseLost} when told to, so a deliverer that lost its lease mid-row calls nothing more.
   */
  void deliver(T row, DeliveryStep.Control control) throws Exception;

  /** The pass may not call another target (lease lost or budget spent): the row stays pending. */
  final class LeaseLost extends RuntimeException {
    public LeaseLost() {
      super("delivery stopped mid-row", null, false, false);
    }
  }
}
