package dev.bucketflow.testing;

import com.zaxxer.hikari.HikariDataSource;
import dev.bucketflow.db.Database;
import dev.bucketflow.db.EmbeddedDatabase;
import java.util.concurrent.atomic.AtomicInteger;
import org.jooq.DSLContext;

/**
 * One embedded PostgreSQL per test JVM, a fresh migrated database per call: test classes never see
 * each other's rows, and the cluster starts once. The migrations run once per JVM, into a template
 * database; every fresh database is a file-level copy of it ({@code CREATE DATABASE … TEMPLATE}), a
 * fraction of what running seven migrations through Flyway again costs.
 */
public final class TestDatabase implements AutoCloseable {

  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static EmbeddedDatabase cluster;

  /** The migrated template (no connection stays open on it: PostgreSQL copies only an idle one). */
  private static String template;

  private final HikariDataSource dataSource;
  private final String url;

  private TestDatabase(HikariDataSource dataSource, String url) {
    this.dataSource = dataSource;
    this.url = url;
  }

  public static synchronized TestDatabase fresh() {
    try {
      startCluster();
      if (template == null) {
        String name = "template_" + ProcessHandle.current().pid();
        cluster.ensureDatabase(name);
        // Flyway holds two connections (its lock and the migration): a pool of one would deadlock.
        try (HikariDataSource ds = Database.pool(cluster.jdbcUrl(name), "postgres", null, 2)) {
          Database.migrate(ds);
        }
        template = name;
      }
      String name = "test_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
      cluster.copyDatabase(template, name);
      String url = cluster.jdbcUrl(name);
      return new TestDatabase(Database.pool(url, "postgres", null, 8), url);
    } catch (Exception e) {
      throw new IllegalStateException("cannot create a test database", e);
    }
  }

  private static void startCluster() throws java.io.IOException {
    if (cluster != null) return;
    cluster = EmbeddedDatabase.start(null, 0);
    EmbeddedDatabase started = cluster;
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    started.close();
                  } catch (Exception ignored) {
                    // the JVM is going away
                  }
                }));
  }

  /** A fresh, empty database (no schema): for tests of the migrations themselves. */
  public static synchronized TestDatabase unmigrated() {
    try {
      startCluster();
      String name = "test_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
      cluster.ensureDatabase(name);
      String url = cluster.jdbcUrl(name);
      HikariDataSource ds = Database.pool(url, "postgres", null, 8);
      return new TestDatabase(ds, url);
    } catch (Exception e) {
      throw new IllegalStateException("cannot start the test database", e);
    }
  }

  public DSLContext dsl() {
    return Database.dsl(dataSource);
  }

  public HikariDataSource dataSource() {
    return dataSource;
  }

  public String url() {
    return url;
  }

  @Override
  public void close() {
    dataSource.close();
  }
}
