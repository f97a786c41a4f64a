package dev.bucketflow.codegen;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.flywaydb.core.Flyway;
import org.jooq.codegen.GenerationTool;
import org.jooq.meta.jaxb.Configuration;
import org.jooq.meta.jaxb.Database;
import org.jooq.meta.jaxb.ForcedType;
import org.jooq.meta.jaxb.Generate;
import org.jooq.meta.jaxb.Generator;
import org.jooq.meta.jaxb.Jdbc;
import org.jooq.meta.jaxb.LambdaConverter;
import org.jooq.meta.jaxb.Target;

/**
 * Generates jOOQ classes from the Flyway migrations, the single source of the schema.
 *
 * <p>Runs at {@code generate-sources} of the schema module. It replays the migrations into a
 * throwaway embedded PostgreSQL (jOOQ's H2-based DDL database misreads ordinary PostgreSQL DDL),
 * then reads that database. A hash of the migrations is kept beside the output so an unchanged
 * schema skips the ~15 s of PostgreSQL start-up on rebuilds.
 *
 * <p>Arguments: {@code <migrations dir> <output dir> <package>}.
 */
public final class GenerateJooq {

  public static void main(String[] args) throws Exception {
    Path migrations = Path.of(args[0]);
    Path output = Path.of(args[1]);
    String packageName = args[2];
    Path stamp = output.resolve(".migrations.sha256");
    String hash = hashOf(migrations);
    if (Files.exists(stamp) && Files.readString(stamp).equals(hash)) {
      System.out.println("jOOQ classes are up to date with " + migrations);
      return;
    }
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = pg.getJdbcUrl("postgres", "postgres");
      Flyway.configure()
          .dataSource(url, "postgres", null)
          .locations("filesystem:" + migrations.toAbsolutePath())
          .load()
          .migrate();
      GenerationTool.generate(configuration(url, output, packageName));
    }
    Files.createDirectories(output);
    Files.writeString(stamp, hash);
  }

  private static Configuration configuration(String url, Path output, String packageName) {
    return new Configuration()
        .withJdbc(new Jdbc().withDriver("org.postgresql.Driver").withUrl(url).withUser("postgres"))
        .withGenerator(
            new Generator()
                .withDatabase(
                    new Database()
                        .withName("org.jooq.meta.postgres.PostgresDatabase")
                        .withInputSchema("public")
                        // Partitions of user_events are storage, not schema: code reads the parent.
                        .withExcludes(
                            "flyway_schema_history|user_events_(legacy|default|p[0-9]{8})")
                        .withForcedTypes(forcedTypes()))
                .withGenerate(
                    new Generate().withJavaTimeTypes(true).withRecords(true).withPojos(false))
                .withTarget(
                    new Target()
                        .withPackageName(packageName)
                        .withDirectory(output.toAbsolutePath().toString())
                        .withClean(true)));
  }

  /**
   * Timestamps as {@code Instant}; every status, kind and source column as its Java enum (stored as
   * the enum's lower-case {@code db()} spelling, which the columns' CHECK constraints list), so a
   * typo in a status is a compile error rather than a row that matches nothing.
   */
  private static List<ForcedType> forcedTypes() {
    return List.of(
        new ForcedType()
            .withName("INSTANT")
            .withIncludeTypes("(?i:timestamp\\ with\\ time\\ zone|timestamptz)"),
        labelled("dev.bucketflow.bucket.MembershipStatus", "bucket_memberships\\.status"),
        labelled(
            "dev.bucketflow.bucket.MembershipSource",
            "bucket_memberships\\.source|bucket_transitions\\.source"),
        labelled("dev.bucketflow.bucket.TransitionKind", "bucket_transitions\\.kind"),
        labelled(
            "dev.bucketflow.bucket.LeaveReason",
            "bucket_transitions\\.reason|posthog_mirror\\.leave_reason"),
        labelled("dev.bucketflow.bucket.BackfillKind", "bucket_backfill_jobs\\.kind"),
        labelled("dev.bucketflow.bucket.BackfillStatus", "bucket_backfill_jobs\\.status"),
        labelled("dev.bucketflow.journey.JourneyStatus", "journey_states\\.status"));
  }

  private static ForcedType labelled(String enumType, String columns) {
    return new ForcedType()
        .withUserType(enumType)
        .withLambdaConverter(
            new LambdaConverter().withFrom(enumType + "::fromDb").withTo(enumType + "::db"))
        .withIncludeExpression("(?i:(public\\.)?(" + columns + "))");
  }

  private static String hashOf(Path migrations) throws IOException {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      // The generator's own settings are part of what the output depends on.
      digest.update(forcedTypes().toString().getBytes(StandardCharsets.UTF_8));
      List<Path> files;
      try (Stream<Path> s = Files.list(migrations)) {
        files = s.filter(Files::isRegularFile).sorted().toList();
      }
      for (Path f : files) {
        digest.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
        digest.update(Files.readAllBytes(f));
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private GenerateJooq() {}
}
