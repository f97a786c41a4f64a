package dev.bucketflow.worker;

import dev.bucketflow.db.Secrets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.OptionSpec;

/** The {@code bucketflow} command line. Every flag can also be set by its environment variable. */
@Command(
    name = "bucketflow",
    mixinStandardHelpOptions = true,
    version = "bucketflow 0.1.0",
    description = "Real-time audience buckets on Temporal and PostgreSQL.",
    subcommands = {
      DevCommand.class,
      WorkerCommand.class,
      SendCommand.class,
      ReconcileCommand.class,
      BucketsCommand.class,
      ContactsCommand.class,
      OutboxCommand.class,
      BenchCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler(
        (ex, cmd, parsed) -> {
          // Driver and URI messages can quote the database URL; never print a password with them.
          cmd.getErr().println("error: " + Secrets.redact(readable(ex), dbPassword(cmd)));
          return 1;
        });
    return cli;
  }

  /** The {@code --db-password} the failed command ran with (flag or env), if it takes one. */
  static String dbPassword(CommandLine cmd) {
    OptionSpec option = cmd.getCommandSpec().findOption("--db-password");
    return option == null ? null : option.getValue();
  }

  /**
   * The innermost cause says what went wrong (a refused connection, a missing table); keep its
   * words.
   */
  static String readable(Throwable ex) {
    Throwable root = ex;
    boolean unreachable = false;
    for (Throwable t = ex; t != null; t = t.getCause() == t ? null : t.getCause()) {
      root = t;
      unreachable |=
          t instanceof io.grpc.StatusRuntimeException s
              && s.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE;
    }
    String message =
        root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    if (unreachable) {
      return "cannot reach Temporal ("
          + message
          + "); is `bucketflow dev` or a Temporal server running at --address?";
    }
    return root == ex ? message : ex.getMessage() + ": " + message;
  }

  @Override
  public void run() {
    CommandLine.usage(this, System.out);
  }
}
