package dev.bucketflow.db;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SecretsTest {

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // query parameter first, middle, last
        "jdbc:postgresql://h:5432/db?password=S3cret&ssl=true | jdbc:postgresql://h:5432/db?password=***&ssl=true",
        "jdbc:postgresql://h/db?user=u&password=S3cret&ssl=true | jdbc:postgresql://h/db?user=u&password=***&ssl=true",
        "jdbc:postgresql://h/db?user=u&password=S3cret | jdbc:postgresql://h/db?user=u&password=***",
        // mixed case names, ssl password, names containing secret/token
        "jdbc:postgresql://h/db?PassWord=S3cret | jdbc:postgresql://h/db?PassWord=***",
        "jdbc:postgresql://h/db?sslpassword=S3cret&sslmode=verify-full | jdbc:postgresql://h/db?sslpassword=***&sslmode=verify-full",
        "jdbc:postgresql://h/db?client_secret=S3cret | jdbc:postgresql://h/db?client_secret=***",
        "jdbc:postgresql://h/db?authToken=S3cret&x=1 | jdbc:postgresql://h/db?authToken=***&x=1",
        // URL-encoded value (an encoded & does not end it) and URL-encoded name
        "jdbc:postgresql://h/db?password=S3%26cr%3Dt&ssl=true | jdbc:postgresql://h/db?password=***&ssl=true",
        "jdbc:postgresql://h/db?pass%77ord=S3cret | jdbc:postgresql://h/db?pass%77ord=***",
        // userinfo, every scheme the CLI accepts
        "postgres://u:S3cret@h:5432/db | postgres://u:***@h:5432/db",
        "postgresql://u:S3cret@h/db?sslmode=require | postgresql://u:***@h/db?sslmode=require",
        "jdbc:postgresql://u:S3cret@h:5432/db | jdbc:postgresql://u:***@h:5432/db",
        // unencoded @ : # ? inside the password: the authority ends at the last @
        "postgres://u:S3c@r:e#t?@h/db | postgres://u:***@h/db",
        // userinfo and parameter together
        "POSTGRES://u:S3cret@h/db?Password=S3cret | POSTGRES://u:***@h/db?Password=***",
      })
  void masksEveryAcceptedForm(String url, String expected) {
    assertThat(Secrets.redact(url)).isEqualTo(expected).doesNotContain("S3c");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "jdbc:postgresql://127.0.0.1:54329/bucketflow",
        "jdbc:postgresql://h:5432/db?user=postgres&sslmode=require&ApplicationName=bucketflow",
        "postgres://user@h/db",
        "cannot connect to PostgreSQL at jdbc:postgresql://h:1/db: Connection refused",
      })
  void leavesTextWithoutCredentialsAlone(String text) {
    assertThat(Secrets.redact(text)).isEqualTo(text);
  }

  @Test
  void masksInsideLongerMessages() {
    String message =
        "Driver org.postgresql.Driver claims to not accept jdbcUrl, jdbc:postgresql://u:S3cret@h/db"
            + " (also tried jdbc:postgresql://h/db?password=S3cret)";

    assertThat(Secrets.redact(message))
        .isEqualTo(
            "Driver org.postgresql.Driver claims to not accept jdbcUrl, jdbc:postgresql://u:***@h/db"
                + " (also tried jdbc:postgresql://h/db?password=***");
  }

  @Test
  void theColonAfterAUrlSurvivesAndRedactingTwiceChangesNothing() {
    String once =
        Secrets.redact("at jdbc:postgresql://u:S3cret@h/db?password=S3cret: Connection refused");

    assertThat(once).isEqualTo("at jdbc:postgresql://u:***@h/db?password=***: Connection refused");
    assertThat(Secrets.redact(once)).isEqualTo(once);
  }

  @Test
  void masksKnownSecretsWhereverTheyAppear() {
    assertThat(
            Secrets.redact(
                "FATAL: password authentication failed (tried S3cret)", "S3cret", null, ""))
        .isEqualTo("FATAL: password authentication failed (tried ***)");
    assertThat(Secrets.redact("key=value password=S3cret")).isEqualTo("key=value password=***");
  }

  @Test
  void tooShortKnownSecretsAreNotMaskedByValue() {
    assertThat(Secrets.redact("a pg message", "pg")).isEqualTo("a pg message");
  }

  @Test
  void nullStaysNull() {
    assertThat(Secrets.redact(null)).isNull();
  }
}
