package dev.bucketflow.journeys;

import org.jooq.DSLContext;

/** The default {@link EmailSender}: a row in {@code email_outbox}, once per idempotency key. */
public final class TableEmailSender implements EmailSender {

  // Fixed text (see JourneyRouter): rendered by no one, prepared once per connection.
  private static final String INSERT_SQL =
      "insert into email_outbox (user_id, journey_id, template, to_email, idempotency_key)"
          + " values (?, ?, ?, ?, ?) on conflict do nothing";

  private final DSLContext dsl;

  public TableEmailSender(DSLContext dsl) {
    this.dsl = dsl;
  }

  @Override
  public void send(Email email) {
    dsl.execute(
        INSERT_SQL,
        email.userId(),
        email.journeyId(),
        email.template(),
        email.toEmail(),
        email.idempotencyKey());
  }
}
