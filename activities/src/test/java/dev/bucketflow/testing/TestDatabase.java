package dev.bucketflow.testing;

import com.zaxxer.hikari.HikariDataSource;
import dev.bucketflow.db.Database;
import dev.bucketflow.db.EmbeddedDatabase;
import java.util.concurrent.atomic.AtomicInteger;
import org.jooq.DSLContext;

/**
 * One embedded PostgreSQL per test JVM, a fresh migrated database per call: test classes never
 * see each other's rows, and the cluster starts once.
 */
public final class TestDatabase implements AutoCloseable {

  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static EmbeddedDatabase cluster;

  private final HikariDataSource dataSource;
  private final String url;

  private TestDatabase(HikariDataSource dataSource, String url) {
    this.dataSource = dataSource;
    this.url = url;
  }

  public static synchronized TestDatabase fresh() {
    TestDatabase db = unmigrated();
    Database.migrate(db.dataSource);
    return db;
  }

  /** A fresh, empty database (no schema): for tests of the migrations themselves. */
  public static synchronized TestDatabase unmigrated() {
    try {
      if (cluster == null) {
        cluster = EmbeddedDatabase.start(null, 0);
        EmbeddedDatabase started = cluster;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          try {
            started.close();
          } catch (Exception ignored) {
            // the JVM is going away
          }
        }));
      }
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
