package dev.bucketflow.ingest;

/** Activity face of {@link IngestService}; idempotent through the batch id (see interface). */
public final class IngestActivitiesImpl implements IngestActivities {

  private final IngestService service;

  public IngestActivitiesImpl(IngestService service) {
    this.service = service;
  }

  @Override
  public IngestOutcome ingest(IngestBatch batch) {
    return service.apply(batch);
  }
}
