package dev.bucketflow.worker;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code buckets add|remove <id> <userId...>}: manual bucket changes through the users' ingest shards. */
final class ManualBucketCommands {

  @Command(name = "add", mixinStandardHelpOptions = true,
      description = "Add users to a manual bucket (signal addToBucket on each user's shard).")
  static final class Add implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin TemporalOptions temporal;
    @Mixin QueueOptions queue;
    @Parameters(index = "0", paramLabel = "BUCKET_ID") String bucketId;
    @Parameters(index = "1..*", arity = "1..*", paramLabel = "USER_ID") List<String> userIds;

    @Override
    public Integer call() {
      return Signals.each(temporal, queue, userIds, (client, user) -> client.addToBucket(bucketId, user),
          spec.commandLine().getOut(), "addToBucket " + bucketId);
    }
  }

  @Command(name = "remove", mixinStandardHelpOptions = true,
      description = "Remove users from a manual bucket (signal removeFromBucket on each user's shard).")
  static final class Remove implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin TemporalOptions temporal;
    @Mixin QueueOptions queue;
    @Parameters(index = "0", paramLabel = "BUCKET_ID") String bucketId;
    @Parameters(index = "1..*", arity = "1..*", paramLabel = "USER_ID") List<String> userIds;

    @Override
    public Integer call() {
      return Signals.each(temporal, queue, userIds, (client, user) -> client.removeFromBucket(bucketId, user),
          spec.commandLine().getOut(), "removeFromBucket " + bucketId);
    }
  }

  private ManualBucketCommands() {}
}
