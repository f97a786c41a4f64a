package dev.bucketflow.testing;

import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of test classes that share one fresh database per class (on the JVM's one embedded PostgreSQL). */
public abstract class DatabaseTest {

  protected static TestDatabase db;
  protected static DSLContext dsl;

  @BeforeAll
  static void openDatabase() {
    db = TestDatabase.fresh();
    dsl = db.dsl();
  }

  @AfterAll
  static void closeDatabase() {
    db.close();
  }
}
