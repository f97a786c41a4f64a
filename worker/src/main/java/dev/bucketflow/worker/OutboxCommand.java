package dev.bucketflow.worker;

import dev.bucketflow.dispatch.OutboxStatus;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import org.jooq.DSLContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * What delivery has left to do and what it parked; {@code outbox retry} puts parked rows back in
 * line.
 */
@Command(
    name = "outbox",
    mixinStandardHelpOptions = true,
    description = {
      "Outbox delivery: rows pending per stream (transitions, journey-events, posthog), rows being retried,",
      "and rows parked after the attempt bound with their last error."
    },
    subcommands = {OutboxCommand.Retry.class})
final class OutboxCommand extends BucketsCommand.DatabaseCommand {

  @Option(
      names = "--limit",
      defaultValue = "20",
      description = "Parked rows to list (default ${DEFAULT-VALUE}).")
  int limit;

  @Override
  void check() {
    if (limit < 0) throw new ParameterException(spec.commandLine(), "--limit must not be negative");
  }

  @Override
  int run(DSLContext dsl, PrintWriter out) {
    OutboxStatus status = new OutboxStatus(dsl);
    TextTable counts = new TextTable("STREAM", "PENDING", "RETRYING", "PARKED", "OLDEST_PENDING");
    for (OutboxStatus.Counts c : status.counts()) {
      counts.row(
          c.stream().label(),
          c.pending(),
          c.retrying(),
          c.parked(),
          c.oldestPending().map(Object::toString).orElse("-"));
    }
    counts.print(out);
    List<OutboxStatus.Parked> parked = status.parked(limit);
    if (parked.isEmpty()) return 0;
    out.println();
    TextTable rows =
        new TextTable("STREAM", "KEY", "USER_ID", "WHAT", "ATTEMPTS", "PARKED_AT", "LAST_ERROR");
    for (OutboxStatus.Parked p : parked) {
      rows.row(
          p.stream().label(),
          p.key(),
          p.userId(),
          p.what(),
          p.attempts(),
          p.parkedAt(),
          p.lastError());
    }
    rows.print(out);
    out.println("retry them with: bucketflow outbox retry [--stream S] [--key K]");
    return 0;
  }

  @Command(
      name = "retry",
      mixinStandardHelpOptions = true,
      description =
          "Put parked rows back in line with fresh attempts (all, one stream's, or one row's).")
  static final class Retry extends BucketsCommand.DatabaseCommand {

    @Option(names = "--stream", description = "transitions, journey-events or posthog.")
    String stream;

    @Option(
        names = "--key",
        description = "One row: its id, or user/bucket for a posthog state (needs --stream).")
    String key;

    @Override
    void check() {
      if (stream != null && OutboxStatus.Stream.of(stream).isEmpty()) {
        throw new ParameterException(
            spec.commandLine(),
            "--stream: expected transitions, journey-events or posthog, got '" + stream + "'");
      }
      if (key != null && stream == null)
        throw new ParameterException(spec.commandLine(), "--key needs --stream");
    }

    @Override
    int run(DSLContext dsl, PrintWriter out) {
      int n;
      try {
        n =
            new OutboxStatus(dsl)
                .retry(
                    Optional.ofNullable(stream).flatMap(OutboxStatus.Stream::of),
                    Optional.ofNullable(key));
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--" + e.getMessage());
      }
      out.println(
          n + " parked row(s) back in line; the delivery workflows take them at their next pass");
      return 0;
    }
  }
}
