package dev.bucketflow.delivery;

/**
 * What one delivery pass did.
 *
 * @param delivered rows every target acknowledged (and mirror states PostHog acknowledged)
 * @param failed attempts that failed and were scheduled again with backoff
 * @param parked rows that reached the attempt bound and were set aside with their error
 * @param more the pass stopped at its budget with due rows left: run the next one at once
 * @param nextDueAtMillis earliest scheduled retry (epoch ms), 0 when none
 * @param leaseBusy another deliverer holds this shard's lease (a worker that is gone or still
 *     finishing): nothing was delivered, try again soon
 */
public record DeliveryPass(
    int delivered, int failed, int parked, boolean more, long nextDueAtMillis, boolean leaseBusy) {

  public static DeliveryPass busy() {
    return new DeliveryPass(0, 0, 0, false, 0, true);
  }
}
