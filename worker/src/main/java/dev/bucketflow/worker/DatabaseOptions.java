package dev.bucketflow.worker;

import picocli.CommandLine.Option;

/** PostgreSQL connection; defaults to the dev mode's embedded database. */
public final class DatabaseOptions {

  public static final String DEV_URL = "jdbc:postgresql://127.0.0.1:54329/bucketflow";

  @Option(
      names = "--db-url",
      defaultValue = "${env:DATABASE_URL:-" + DEV_URL + "}",
      description = "JDBC URL (env DATABASE_URL, default ${DEFAULT-VALUE}).")
  String url;

  @Option(
      names = "--db-user",
      defaultValue = "${env:DATABASE_USER:-postgres}",
      description = "Database user (env DATABASE_USER, default ${DEFAULT-VALUE}).")
  String user;

  @Option(
      names = "--db-password",
      defaultValue = "${env:DATABASE_PASSWORD:-}",
      description = "Database password (env DATABASE_PASSWORD, default empty).")
  String password;

  @Option(
      names = "--db-pool-size",
      defaultValue = "${env:DATABASE_POOL_SIZE:-10}",
      description = "Connection pool size (env DATABASE_POOL_SIZE, default ${DEFAULT-VALUE}).")
  int poolSize;

  /** Accepts {@code postgres://user:pass@host:port/db} too, as many platforms hand it out. */
  String jdbcUrl() {
    if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
      java.net.URI uri = java.net.URI.create(url);
      if (uri.getUserInfo() != null) {
        String[] parts = uri.getUserInfo().split(":", 2);
        user = parts[0];
        if (parts.length > 1) password = parts[1];
      }
      int port = uri.getPort() < 0 ? 5432 : uri.getPort();
      return "jdbc:postgresql://"
          + uri.getHost()
          + ":"
          + port
          + uri.getPath()
          + (uri.getQuery() == null ? "" : "?" + uri.getQuery());
    }
    return url;
  }
}
