package dev.bucketflow.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.bucketflow.testing.TestDatabase;
import java.sql.Connection;
import org.junit.jupiter.api.Test;

/** Credentials in a JDBC URL never stay in the URL the pool, the driver and Flyway print. */
class DatabaseCredentialsTest {

  @Test
  void credentialParametersMoveFromTheUrlToDriverProperties() {
    HikariConfig config =
        Database.config(
            "jdbc:postgresql://h:5432/db?user=u&password=S3%26cret&sslpassword=K3y&ssl=true",
            "postgres", "other", 2);

    assertThat(config.getJdbcUrl()).isEqualTo("jdbc:postgresql://h:5432/db?user=u&ssl=true");
    assertThat(config.getPassword()).isEqualTo("S3&cret");
    assertThat(config.getDataSourceProperties()).containsEntry("sslpassword", "K3y");
  }

  @Test
  void aUrlWithoutCredentialsIsKeptAsIsAndThePasswordArgumentUsed() {
    HikariConfig config =
        Database.config("jdbc:postgresql://h/db?sslmode=require", "postgres", "S3cret", 2);

    assertThat(config.getJdbcUrl()).isEqualTo("jdbc:postgresql://h/db?sslmode=require");
    assertThat(config.getPassword()).isEqualTo("S3cret");
    assertThat(
            Database.config("jdbc:postgresql://h/db?password=S3cret", "postgres", null, 2)
                .getJdbcUrl())
        .isEqualTo("jdbc:postgresql://h/db");
  }

  @Test
  void aMalformedEscapeIsRefusedWithoutQuotingTheValue() {
    assertThatThrownBy(
            () -> Database.config("jdbc:postgresql://h/db?password=S3cret%zz", "postgres", null, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .message()
        .doesNotContain("S3cret");
  }

  @Test
  void theDriverUrlHasNoPasswordAndConnectionsStillWork() throws Exception {
    try (TestDatabase db = TestDatabase.fresh();
        HikariDataSource ds =
            Database.pool(db.url() + "?password=S3cret&ApplicationName=bf", "postgres", null, 1);
        Connection c = ds.getConnection()) {
      // What Flyway logs as "Database: <url>" on every migration.
      assertThat(c.getMetaData().getURL()).doesNotContain("S3cret").contains("ApplicationName=bf");
      assertThat(c.isValid(2)).isTrue();
    }
  }
}
