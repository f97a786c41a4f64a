package dev.bucketflow.worker;

import com.zaxxer.hikari.HikariDataSource;
import dev.bucketflow.db.Database;
import dev.bucketflow.db.Secrets;
import java.sql.SQLException;
import org.jooq.exception.DataAccessException;

/**
 * How short-lived admin commands reach PostgreSQL: a tiny pool, library start-up chatter turned
 * down, and failures turned into one readable sentence instead of a stack trace. Never migrates: an
 * admin command pointed at the wrong database must not create a schema there.
 */
final class CliDatabase {

  /**
   * Thrown with a message meant for the terminal (credentials masked); commands print it and exit
   * 1.
   */
  static final class Failure extends RuntimeException {
    Failure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Logger name prefixes whose INFO lines (pool start, migrations, postgres output) are noise on a
   * CLI.
   */
  private static final String[] CHATTY = {
    "com.zaxxer.hikari", "org.flywaydb", "io.zonky", "org.postgresql", "org.jooq"
  };

  /**
   * Turns INFO chatter of pool/migration/embedded-db libraries down to warnings, unless the user
   * chose a level.
   */
  static void quietLibraries() {
    for (String name : CHATTY) {
      String key = "org.slf4j.simpleLogger.log." + name;
      if (System.getProperty(key) == null) System.setProperty(key, "warn");
    }
  }

  /** Opens a pool of at most {@code maxSize} connections and proves it can connect. */
  static HikariDataSource open(String jdbcUrl, String user, String password, int maxSize) {
    quietLibraries();
    try {
      return Database.pool(jdbcUrl, user, password, Math.max(1, maxSize));
    } catch (RuntimeException e) {
      // Hikari quotes the URL in some messages ("claims to not accept jdbcUrl, ..."); mask those
      // too.
      throw new Failure(
          "cannot connect to PostgreSQL at "
              + redact(jdbcUrl)
              + ": "
              + Secrets.redact(rootMessage(e), password)
              + "\nhint: start it with 'bin/bucketflow dev', or point --db-url (env DATABASE_URL) at your database",
          e);
    }
  }

  static HikariDataSource open(DatabaseOptions options, int maxSize) {
    String url = options.jdbcUrl();
    return open(
        url, options.user, options.password, Math.min(maxSize, Math.max(1, options.poolSize)));
  }

  /**
   * A readable sentence for a failed statement. A missing table (SQLSTATE 42P01) means the database
   * was never migrated; say so rather than quoting the driver. {@code password} (the {@code
   * --db-password} value, may be null) is masked wherever a message quotes it.
   */
  static Failure explain(RuntimeException e, String jdbcUrl, String password) {
    if (e instanceof Failure f) return f;
    String root = Secrets.redact(rootMessage(e), password);
    if (e instanceof DataAccessException dae && "42P01".equals(dae.sqlState())) {
      return new Failure(
          "the database at "
              + redact(jdbcUrl)
              + " has no Bucketflow schema ("
              + root
              + ")\nhint: run 'bin/bucketflow worker' or 'bin/bucketflow dev' against it once; they apply the migrations",
          e);
    }
    // jdbcUrl is null when the URL itself did not parse; the root message then quotes it, masked.
    return new Failure(
        jdbcUrl == null
            ? "invalid database URL: " + root
            : "database error at " + redact(jdbcUrl) + ": " + root,
        e);
  }

  /**
   * The innermost SQL message (else the innermost message), first line only: what actually went
   * wrong.
   */
  static String rootMessage(Throwable e) {
    Throwable sql = null;
    Throwable last = e;
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLException && t.getMessage() != null) sql = t;
      last = t;
    }
    Throwable best = sql != null ? sql : last;
    String message =
        best.getMessage() == null ? best.getClass().getSimpleName() : best.getMessage();
    int newline = message.indexOf('\n');
    return (newline < 0 ? message : message.substring(0, newline)).strip();
  }

  /** The URL as safe to print: see {@link Secrets#redact}. */
  static String redact(String jdbcUrl) {
    return Secrets.redact(jdbcUrl);
  }

  private CliDatabase() {}
}
