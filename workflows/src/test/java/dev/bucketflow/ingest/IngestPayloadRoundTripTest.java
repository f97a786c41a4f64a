package dev.bucketflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.temporal.api.common.v1.Payloads;
import io.temporal.common.converter.DataConverter;
import io.temporal.common.converter.DefaultDataConverter;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * What the ingest workflow hands to Temporal must come back as it went: the batch is decoded by the
 * activity worker and the carried state by the next run, both with the default converter.
 */
class IngestPayloadRoundTripTest {

  private static final DataConverter CONVERTER = DefaultDataConverter.STANDARD_INSTANCE;

  private static <T> T roundTrip(T value, Class<T> type) {
    Optional<Payloads> payloads = CONVERTER.toPayloads(value);
    return CONVERTER.fromPayloads(0, payloads, type, type);
  }

  private static PendingEvent sample() {
    ObjectNode e = JsonNodeFactory.instance.objectNode();
    e.put("userId", "u1").put("event", "app.active").putObject("properties").put("plan", "trial");
    return new PendingEvent(e, 1_700_000_000_000L);
  }

  @Test
  void pendingEventRoundTrips() {
    PendingEvent event = sample();
    assertThat(roundTrip(event, PendingEvent.class)).isEqualTo(event);
  }

  @Test
  void ingestBatchRoundTrips() {
    IngestBatch batch = new IngestBatch("bucketflow-ingest-3/run/0", 3, List.of(sample()));
    assertThat(roundTrip(batch, IngestBatch.class)).isEqualTo(batch);
  }

  @Test
  void carriedStateRoundTrips() {
    IngestState state = new IngestState(List.of(sample()), 40, 2, 1_700_000_000_500L);
    assertThat(roundTrip(state, IngestState.class)).isEqualTo(state);
  }
}
