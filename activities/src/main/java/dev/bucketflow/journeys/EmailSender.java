package dev.bucketflow.journeys;

/**
 * Where journey emails go. The default writes {@code email_outbox}; plug a real provider in by
 * implementing this (it must be idempotent on {@link Email#idempotencyKey()}: activities retry).
 */
public interface EmailSender {

  record Email(
      String userId, String journeyId, String template, String toEmail, String idempotencyKey) {}

  void send(Email email) throws Exception;
}
