package dev.bucketflow.journeys;

import static dev.bucketflow.schema.Tables.EMAIL_OUTBOX;

import org.jooq.DSLContext;

/** The default {@link EmailSender}: a row in {@code email_outbox}, once per idempotency key. */
public final class TableEmailSender implements EmailSender {

  private final DSLContext dsl;

  public TableEmailSender(DSLContext dsl) {
    this.dsl = dsl;
  }

  @Override
  public void send(Email email) {
    var o = EMAIL_OUTBOX;
    dsl.insertInto(o, o.USER_ID, o.JOURNEY_ID, o.TEMPLATE, o.TO_EMAIL, o.IDEMPOTENCY_KEY)
        .values(
            email.userId(),
            email.journeyId(),
            email.template(),
            email.toEmail(),
            email.idempotencyKey())
        .onConflictDoNothing()
        .execute();
  }
}
