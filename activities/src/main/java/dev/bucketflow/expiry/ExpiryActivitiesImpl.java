package dev.bucketflow.expiry;

/** Activity face of {@link ExpiryService}. */
public final class ExpiryActivitiesImpl implements ExpiryActivities {

  private final ExpiryService service;

  public ExpiryActivitiesImpl(ExpiryService service) {
    this.service = service;
  }

  @Override
  public ExpiryCheck leaveOrExtend(ExpiryRequest armed) {
    return service.leaveOrExtend(armed);
  }
}
