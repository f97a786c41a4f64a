package dev.bucketflow.journeys;

import static dev.bucketflow.schema.Tables.CONTACTS;
import static dev.bucketflow.schema.Tables.JOURNEY_STATES;

import java.time.Clock;
import org.jooq.DSLContext;

/** Activities of the Java journeys (the winback example). */
public final class JourneyActivitiesImpl implements JourneyActivities {

  private final DSLContext dsl;
  private final EmailSender sender;
  private final Clock clock;

  public JourneyActivitiesImpl(DSLContext dsl, EmailSender sender, Clock clock) {
    this.dsl = dsl;
    this.sender = sender;
    this.clock = clock;
  }

  @Override
  public void sendEmail(EmailRequest request) {
    String to =
        dsl.select(CONTACTS.EMAIL)
            .from(CONTACTS)
            .where(CONTACTS.EXTERNAL_ID.eq(request.userId()))
            .fetchOptional(CONTACTS.EMAIL)
            .orElse(null);
    try {
      sender.send(
          new EmailSender.Email(
              request.userId(),
              request.journeyId(),
              request.template(),
              to,
              request.idempotencyKey()));
    } catch (Exception e) {
      throw new IllegalStateException(
          "email " + request.template() + " to user " + request.userId() + " failed", e);
    }
  }

  @Override
  public void journeyEnded(JourneyEnd end) {
    var j = JOURNEY_STATES;
    dsl.update(j)
        .set(j.STATUS, end.status())
        .set(j.EXIT_REASON, end.reason())
        .set(j.ENDED_AT, clock.instant())
        .where(
            j.JOURNEY_ID
                .eq(end.journeyId())
                .and(j.USER_ID.eq(end.userId()))
                .and(j.ENTRY_COUNT.eq(end.entryCount()))
                .and(j.ENDED_AT.isNull()))
        .execute();
  }
}
