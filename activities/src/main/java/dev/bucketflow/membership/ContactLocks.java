package dev.bucketflow.membership;

import static dev.bucketflow.schema.Tables.CONTACTS;

import java.util.Collection;
import java.util.List;
import java.util.TreeSet;
import org.jooq.DSLContext;
import org.jooq.Record1;
import org.jooq.ResultQuery;
import org.jooq.impl.DSL;

/**
 * The one lock every writer of memberships decides under (README, "One lock discipline"): the
 * {@code contacts} rows of the users concerned, {@code FOR UPDATE}, taken in {@code external_id}
 * order before reading anything the decision depends on, and held to the end of the transaction.
 *
 * <p>The decision must be a <em>separate</em> statement after the lock: under READ COMMITTED each
 * statement sees everything committed before it started, so a statement issued once the lock is
 * granted sees the committed work of the ingest that held it. One statement that both locks and
 * decides ({@code UPDATE … WHERE id IN (SELECT … FOR UPDATE)}) would not: PostgreSQL's EvalPlanQual
 * re-check re-reads only the locked rows, never the subqueries over {@code user_events} the
 * criteria compile to.
 *
 * <p>Lock order, everywhere: contacts (by id) before {@code bucket_memberships} rows; then no two
 * writers can wait on each other in a cycle.
 */
public final class ContactLocks {

  private ContactLocks() {}

  /**
   * Locks the existing contacts of {@code userIds}, in id order, waiting for any held by another
   * transaction. Returns the ids locked (those with a contacts row, deleted or not), in order.
   */
  public static List<String> lock(DSLContext tx, Collection<String> userIds) {
    if (userIds.isEmpty()) return List.of();
    return lockQuery(tx, userIds, false).fetch(CONTACTS.EXTERNAL_ID);
  }

  /**
   * Locks those contacts of {@code userIds} that no other transaction holds, in id order, and skips
   * the others ({@code SKIP LOCKED}). For set-based sweep chunks: a skipped user is being written
   * right now (its ingest re-evaluates it) and is left to the sweep's next pass; the chunk's
   * decision must be restricted to the ids returned.
   */
  public static List<String> lockAvailable(DSLContext tx, Collection<String> userIds) {
    if (userIds.isEmpty()) return List.of();
    return lockQuery(tx, userIds, true).fetch(CONTACTS.EXTERNAL_ID);
  }

  /**
   * The lock statement (an index scan of {@code contacts_pkey}, also in the generic plan of the
   * prepared statement; {@code ContactLocksPlanTest} checks both). The ids are one array parameter:
   * an IN list of a sweep chunk's thousand ids was rendered by jOOQ and parsed and planned by
   * PostgreSQL anew for every chunk.
   */
  static ResultQuery<Record1<String>> lockQuery(
      DSLContext tx, Collection<String> userIds, boolean skipLocked) {
    var c = CONTACTS;
    String[] ids = new TreeSet<>(userIds).toArray(new String[0]);
    var locking =
        tx.select(c.EXTERNAL_ID)
            .from(c)
            .where(c.EXTERNAL_ID.eq(DSL.any(ids)))
            .orderBy(c.EXTERNAL_ID)
            .forUpdate();
    return skipLocked ? locking.skipLocked() : locking;
  }
}
