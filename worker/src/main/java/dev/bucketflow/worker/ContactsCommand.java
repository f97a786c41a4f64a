package dev.bucketflow.worker;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Contact operations, signalled through the user's ingest shard like any event. */
@Command(
    name = "contacts",
    mixinStandardHelpOptions = true,
    description = "Contact operations.",
    subcommands = {ContactsCommand.Delete.class})
final class ContactsCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(
      name = "delete",
      mixinStandardHelpOptions = true,
      description =
          "Delete contacts: soft-deletes them and their memberships without emitting, exits their journeys, "
              + "and refuses their later events (signal deleteContact).")
  static final class Delete implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin TemporalOptions temporal;
    @Mixin QueueOptions queue;

    @Parameters(arity = "1..*", paramLabel = "USER_ID")
    List<String> userIds;

    @Override
    public Integer call() {
      return Signals.each(
          temporal,
          queue,
          userIds,
          (client, user) -> client.deleteContact(user),
          spec.commandLine().getOut(),
          "deleteContact");
    }
  }
}
