package dev.bucketflow.worker;

import dev.bucketflow.ingest.IngestClient;
import io.temporal.serviceclient.WorkflowServiceStubs;
import java.io.PrintWriter;
import java.util.List;
import java.util.function.BiConsumer;

/** Sends one contact-operation signal per user, for the commands that need it. */
final class Signals {

  static int each(
      TemporalOptions temporal,
      QueueOptions queue,
      List<String> userIds,
      BiConsumer<IngestClient, String> send,
      PrintWriter out,
      String what) {
    WorkflowServiceStubs service = Temporal.connect(temporal.address);
    try {
      IngestClient client =
          new IngestClient(
              Temporal.client(service, temporal.namespace), queue.taskQueue, queue.shards);
      for (String user : userIds) {
        send.accept(client, user);
        out.println(what + " sent for " + user);
      }
      return 0;
    } finally {
      service.shutdown();
    }
  }

  private Signals() {}
}
