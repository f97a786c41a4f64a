package dev.bucketflow.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;

/** Connection pool, migrations and the jOOQ context: the one place a database is wired. */
public final class Database {

  static {
    // jOOQ prints a banner and "tips" on first use; noise in a service log.
    System.setProperty("org.jooq.no-logo", "true");
    System.setProperty("org.jooq.no-tips", "true");
  }

  public static HikariDataSource pool(String url, String user, String password, int maxSize) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(user);
    if (password != null && !password.isEmpty()) config.setPassword(password);
    config.setMaximumPoolSize(maxSize);
    config.setMinimumIdle(1);
    config.setPoolName("bucketflow");
    return new HikariDataSource(config);
  }

  /** Applies the Flyway migrations shipped in the schema module; safe with several workers. */
  public static void migrate(DataSource dataSource) {
    Flyway.configure().dataSource(dataSource).locations("classpath:db/migration").load().migrate();
  }

  public static DSLContext dsl(DataSource dataSource) {
    return DSL.using(dataSource, SQLDialect.POSTGRES, new Settings().withExecuteLogging(false));
  }

  private Database() {}
}
