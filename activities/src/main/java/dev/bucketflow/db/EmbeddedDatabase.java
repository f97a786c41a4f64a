package dev.bucketflow.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * An embedded PostgreSQL (zonky) for dev mode and tests. With a data directory the cluster is kept
 * across restarts; the database is created on first start.
 */
public final class EmbeddedDatabase implements AutoCloseable {

  private final EmbeddedPostgres postgres;

  private EmbeddedDatabase(EmbeddedPostgres postgres) {
    this.postgres = postgres;
  }

  /** Starts on {@code port} (0 = any) with data kept in {@code dataDir} (null = throwaway). */
  public static EmbeddedDatabase start(Path dataDir, int port) throws IOException {
    EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder();
    if (dataDir != null) {
      Files.createDirectories(dataDir);
      builder.setDataDirectory(dataDir).setCleanDataDirectory(false);
    }
    if (port > 0) builder.setPort(port);
    return new EmbeddedDatabase(builder.start());
  }

  public int port() {
    return postgres.getPort();
  }

  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database;
  }

  /** Creates {@code database} unless it exists. */
  public void ensureDatabase(String database) throws SQLException {
    try (Connection c = postgres.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      try (ResultSet rs =
          s.executeQuery(
              "SELECT 1 FROM pg_database WHERE datname = '" + database.replace("'", "''") + "'")) {
        if (rs.next()) return;
      }
      s.execute("CREATE DATABASE \"" + database.replace("\"", "") + "\"");
    }
  }

  /**
   * Creates {@code database} as a copy of {@code template} (a file-level copy, much faster than
   * reloading: benchmarks run two methods on the same generated data this way). Nothing may be
   * connected to {@code template} meanwhile.
   */
  public void copyDatabase(String template, String database) throws SQLException {
    try (Connection c = postgres.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE DATABASE \""
              + database.replace("\"", "")
              + "\" TEMPLATE \""
              + template.replace("\"", "")
              + "\"");
    }
  }

  @Override
  public void close() throws IOException {
    postgres.close();
  }
}
