package dev.bucketflow.ingest;

import com.fasterxml.jackson.core.JacksonException;
import java.sql.SQLException;
import java.time.DateTimeException;
import java.util.Set;

/**
 * Tells a data error (the same input fails the same way on every retry) from a transient one. Data:
 * SQLSTATE classes 22 (data exception) and 23 (integrity constraint) — the conflicts the code
 * expects are absorbed by {@code ON CONFLICT}, so any that reach here are not expected — JSON
 * processing errors, and date or arithmetic overflow. Everything else (connection loss, {@code
 * 40001}, {@code 40P01}, timeouts, {@code 57014} cancellation) is transient: retried.
 */
public final class DataErrors {

  private static final Set<String> DATA_CLASSES = Set.of("22", "23");

  public static boolean isDataError(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLException sql) {
        String state = sql.getSQLState();
        return state != null && state.length() >= 2 && DATA_CLASSES.contains(state.substring(0, 2));
      }
      if (t instanceof JacksonException
          || t instanceof DateTimeException
          || t instanceof ArithmeticException) {
        return true;
      }
    }
    return false;
  }

  /** The message of the innermost SQL or data exception, for {@code rejected_events.detail}. */
  public static String message(Throwable e) {
    Throwable best = e;
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      best = t;
      if (t instanceof SQLException sql) {
        return "SQLSTATE " + sql.getSQLState() + ": " + StorableText.firstLine(sql.getMessage());
      }
    }
    return best.getClass().getSimpleName()
        + ": "
        + StorableText.firstLine(String.valueOf(best.getMessage()));
  }

  private DataErrors() {}
}
