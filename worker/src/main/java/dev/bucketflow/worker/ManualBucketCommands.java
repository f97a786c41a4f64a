package dev.bucketflow.worker;

import dev.bucketflow.ingest.IngestClient;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code buckets add|remove <id> <userId...>}: manual bucket changes through the users' ingest
 * shards.
 */
final class ManualBucketCommands {

  /** The shared shape: a bucket, users, and the signal to send for each. */
  abstract static class Change implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin TemporalOptions temporal;
    @Mixin QueueOptions queue;

    @Parameters(index = "0", paramLabel = "BUCKET_ID")
    String bucketId;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "USER_ID")
    List<String> userIds;

    abstract void send(IngestClient client, String userId);

    abstract String signal();

    @Override
    public Integer call() {
      return Signals.each(
          temporal,
          queue,
          userIds,
          this::send,
          spec.commandLine().getOut(),
          signal() + " " + bucketId);
    }
  }

  @Command(
      name = "add",
      mixinStandardHelpOptions = true,
      description = "Add users to a manual bucket (signal addToBucket on each user's shard).")
  static final class Add extends Change {
    @Override
    void send(IngestClient client, String userId) {
      client.addToBucket(bucketId, userId);
    }

    @Override
    String signal() {
      return "addToBucket";
    }
  }

  @Command(
      name = "remove",
      mixinStandardHelpOptions = true,
      description =
          "Remove users from a manual bucket (signal removeFromBucket on each user's shard).")
  static final class Remove extends Change {
    @Override
    void send(IngestClient client, String userId) {
      client.removeFromBucket(bucketId, userId);
    }

    @Override
    String signal() {
      return "removeFromBucket";
    }
  }

  private ManualBucketCommands() {}
}
