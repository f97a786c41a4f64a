package dev.bucketflow.worker;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code bucketflow} command line. Every flag can also be set by its environment variable. */
@Command(
    name = "bucketflow",
    mixinStandardHelpOptions = true,
    version = "bucketflow 0.1.0",
    description = "Real-time audience buckets on Temporal and PostgreSQL.",
    subcommands = {DevCommand.class, WorkerCommand.class, SendCommand.class, ReconcileCommand.class,
        BucketsCommand.class, ContactsCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      cmd.getErr().println("error: " + ex.getMessage());
      return 1;
    });
    return cli;
  }

  @Override
  public void run() {
    CommandLine.usage(this, System.out);
  }
}
