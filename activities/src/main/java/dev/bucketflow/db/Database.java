package dev.bucketflow.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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
    return new HikariDataSource(config(url, user, password, maxSize));
  }

  /**
   * The pool's settings. Credential query parameters ({@code password}, {@code sslpassword}, any
   * name {@link Secrets} deems sensitive) move from the URL into driver properties, so the URL that
   * the pool, the driver's metadata and Flyway keep and log (Flyway prints it at INFO on every
   * migration) carries no secret. A {@code password} in the URL still wins over the {@code
   * password} argument, as it does in the driver.
   */
  static HikariConfig config(String url, String user, String password, int maxSize) {
    HikariConfig config = new HikariConfig();
    if (password != null && !password.isEmpty()) config.setPassword(password);
    int q = url.indexOf('?');
    if (q < 0) {
      config.setJdbcUrl(url);
    } else {
      List<String> kept = new ArrayList<>();
      for (String param : url.substring(q + 1).split("&")) {
        int eq = param.indexOf('=');
        String name = eq < 0 ? param : param.substring(0, eq);
        if (eq < 0 || !Secrets.sensitive(name)) {
          kept.add(param);
          continue;
        }
        String value;
        try {
          // The driver decodes URL values the same way.
          value = URLDecoder.decode(param.substring(eq + 1), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
          // URLDecoder's message quotes the value; this one must not.
          throw new IllegalArgumentException(
              "malformed %-escape in the value of URL parameter " + name);
        }
        if (name.equals("password")) {
          config.setPassword(value);
        } else {
          config.addDataSourceProperty(name, value);
        }
      }
      config.setJdbcUrl(url.substring(0, q) + (kept.isEmpty() ? "" : "?" + String.join("&", kept)));
    }
    config.setUsername(user);
    config.setMaximumPoolSize(maxSize);
    config.setMinimumIdle(1);
    config.setPoolName("bucketflow");
    return config;
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
