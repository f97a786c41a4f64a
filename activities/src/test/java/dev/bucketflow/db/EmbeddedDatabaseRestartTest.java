package dev.bucketflow.db;

import static dev.bucketflow.schema.Tables.CONTACTS;
import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What `bucketflow dev` relies on: data written before a restart is there after it. */
class EmbeddedDatabaseRestartTest {

  @Test
  void dataSurvivesARestartOnTheSameDataDirectory(@TempDir Path dataDir) throws Exception {
    try (EmbeddedDatabase pg = EmbeddedDatabase.start(dataDir, 0)) {
      pg.ensureDatabase("bucketflow");
      try (HikariDataSource ds = Database.pool(pg.jdbcUrl("bucketflow"), "postgres", null, 2)) {
        Database.migrate(ds);
        Database.dsl(ds).insertInto(CONTACTS, CONTACTS.EXTERNAL_ID).values("kept").execute();
      }
    }
    try (EmbeddedDatabase pg = EmbeddedDatabase.start(dataDir, 0)) {
      pg.ensureDatabase("bucketflow"); // already there: a no-op
      try (HikariDataSource ds = Database.pool(pg.jdbcUrl("bucketflow"), "postgres", null, 2)) {
        Database.migrate(ds);
        assertThat(Database.dsl(ds).fetchExists(CONTACTS, CONTACTS.EXTERNAL_ID.eq("kept")))
            .isTrue();
      }
    }
  }
}
