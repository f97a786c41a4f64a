package dev.bucketflow.testing;

import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * Base of test classes that share one fresh database per class (on the JVM's one embedded
 * PostgreSQL). The fields are static in this base, so one per JVM, not per subclass: the lock
 * (inherited) keeps its subclasses from running at the same time as each other, while classes that
 * open their own {@link TestDatabase} run beside them.
 */
@ResourceLock("dev.bucketflow.testing.DatabaseTest")
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
