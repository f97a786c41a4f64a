package dev.bucketflow.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.db.Json;
import dev.bucketflow.ingest.EventShape;
import dev.bucketflow.ingest.IngestClient;
import io.temporal.serviceclient.WorkflowServiceStubs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The reference client: one event from flags, or many from a JSON-lines file. */
@Command(
    name = "send",
    mixinStandardHelpOptions = true,
    description = "Send events to Bucketflow over Temporal signals (the public wire contract).")
final class SendCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin TemporalOptions temporal;
  @Mixin QueueOptions queue;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  static final class Source {
    @ArgGroup(exclusive = false)
    Single single;

    @Option(
        names = "--file",
        description = "JSON-lines file, one event object per line, sent in 'events' batches.")
    Path file;
  }

  static final class Single {
    @Option(names = "--user", required = true, description = "userId.")
    String user;

    @Option(names = "--event", required = true, description = "Event name.")
    String event;

    @Option(names = "--props", description = "Properties as a JSON object.")
    String props;

    @Option(names = "--email", description = "userEmail.")
    String email;

    @Option(names = "--occurred-at", description = "ISO-8601 instant; default: receipt time.")
    String occurredAt;

    @Option(names = "--key", description = "idempotencyKey.")
    String key;
  }

  private int refusedLines;

  @Override
  public Integer call() throws Exception {
    List<JsonNode> events =
        source.file != null ? readFile(source.file) : List.of(single(source.single));
    WorkflowServiceStubs service = Temporal.connect(temporal.address);
    try {
      IngestClient client =
          new IngestClient(
              Temporal.client(service, temporal.namespace), queue.taskQueue, queue.shards);
      long start = System.nanoTime();
      if (source.file == null) {
        client.send(events.get(0));
        spec.commandLine()
            .getOut()
            .println("sent 1 event to shard " + client.shardOf(events.get(0)));
      } else {
        int signals = client.sendAll(events, 8);
        double seconds = (System.nanoTime() - start) / 1e9;
        spec.commandLine()
            .getOut()
            .printf(
                "sent %d events in %d signals in %.2f s (%.0f events/s)%n",
                events.size(), signals, seconds, events.size() / seconds);
        if (refusedLines > 0) {
          spec.commandLine()
              .getErr()
              .println(refusedLines + " line(s) over the size limit were not sent");
          return 1;
        }
      }
      return 0;
    } finally {
      service.shutdown();
    }
  }

  private ObjectNode single(Single s) {
    ObjectNode e = Json.MAPPER.createObjectNode();
    e.put("userId", s.user).put("event", s.event);
    if (s.props != null) {
      JsonNode props = parse(s.props, "--props");
      if (!props.isObject())
        throw new ParameterException(spec.commandLine(), "--props: must be a JSON object");
      e.set("properties", props);
    }
    if (s.email != null) e.put("userEmail", s.email);
    if (s.occurredAt != null) e.put("occurredAt", s.occurredAt);
    if (s.key != null) e.put("idempotencyKey", s.key);
    return e;
  }

  /**
   * Reads every line first so a malformed line fails the command before anything is sent. A line
   * over the event size limit (32 KiB, which the workers would reject anyway) is refused with its
   * line number and the rest is sent; the command then exits 1.
   */
  private List<JsonNode> readFile(Path file) throws Exception {
    if (!Files.isRegularFile(file))
      throw new ParameterException(spec.commandLine(), "--file: no such file " + file);
    List<JsonNode> events = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    int lineNo = 0;
    for (String line : Files.readAllLines(file)) {
      lineNo++;
      if (line.isBlank()) continue;
      int bytes = line.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
      if (bytes > EventShape.MAX_EVENT_BYTES) {
        refusedLines++;
        spec.commandLine()
            .getErr()
            .println(
                file
                    + ":"
                    + lineNo
                    + ": line of "
                    + bytes
                    + " bytes is over the "
                    + EventShape.MAX_EVENT_BYTES
                    + "-byte event limit; not sent");
        continue;
      }
      try {
        JsonNode node = Json.MAPPER.readTree(line);
        if (!node.isObject()) problems.add(file + ":" + lineNo + ": not a JSON object");
        else events.add(node);
      } catch (Exception ex) {
        problems.add(file + ":" + lineNo + ": not valid JSON");
      }
    }
    if (!problems.isEmpty()) {
      throw new ParameterException(
          spec.commandLine(),
          String.join("\n", problems.subList(0, Math.min(20, problems.size())))
              + (problems.size() > 20 ? "\n... and " + (problems.size() - 20) + " more" : ""));
    }
    return events;
  }

  private JsonNode parse(String text, String flag) {
    try {
      return Json.MAPPER.readTree(text);
    } catch (Exception ex) {
      throw new ParameterException(spec.commandLine(), flag + ": not valid JSON");
    }
  }
}
