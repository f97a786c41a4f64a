package dev.bucketflow.journeys;

import java.time.Clock;
import org.jooq.DSLContext;

/** Activities of the Java journeys (the winback example). */
public final class JourneyActivitiesImpl implements JourneyActivities {

  // Fixed text, not jOOQ queries built per call: see JourneyRouter (delivery and journeys are
  // CPU-bound on Java, much of it rendering).
  private static final String EMAIL_OF_SQL = "select email from contacts where external_id = ?";
  private static final String ENDED_SQL =
      "update journey_states set status = ?, exit_reason = ?, ended_at = cast(? as timestamptz)"
          + " where journey_id = ? and user_id = ? and entry_count = ? and ended_at is null";

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
        dsl.fetchOptional(EMAIL_OF_SQL, request.userId())
            .map(r -> r.get(0, String.class))
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
    dsl.execute(
        ENDED_SQL,
        end.status().db(),
        end.reason(),
        clock.instant().toString(),
        end.journeyId(),
        end.userId(),
        end.entryCount());
  }
}
