package dev.bucketflow.ingest;

import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.temporal.api.common.v1.Payload;
import io.temporal.common.converter.DataConverter;
import io.temporal.common.converter.DataConverterException;
import io.temporal.common.converter.DefaultDataConverter;
import io.temporal.common.converter.JacksonJsonPayloadConverter;
import io.temporal.common.converter.PayloadConverter;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * The {@code json/plain} converter of every Bucketflow worker and client: Temporal's own (same
 * mapper, same bytes on the wire), except that a signal payload meant to become raw JSON ({@link
 * JsonNode} or a list of them) never fails to decode. The SDK drops a signal whose input does not
 * deserialize, with only a log line; a payload past Jackson's read limits (nesting deeper than
 * 1,000, a number longer than 1,000 digits) or not JSON at all becomes instead an {@link
 * #UNDECODABLE} marker, which the ingest workflow turns into a {@code rejected_events} row. Nothing
 * a client sends disappears.
 */
public final class SignalPayloadConverter implements PayloadConverter {

  /** Field of the marker object that stands for a payload that could not be decoded. */
  public static final String UNDECODABLE = "$bucketflowUndecodable";

  /** How much of an undecodable payload is kept for the operator. */
  static final int RAW_PREFIX_BYTES = 4096;

  private final JacksonJsonPayloadConverter json = new JacksonJsonPayloadConverter();

  /** Temporal's default data converter with this class in place of its JSON converter. */
  public static DataConverter dataConverter() {
    return DefaultDataConverter.newDefaultInstance()
        .withPayloadConverterOverrides(new SignalPayloadConverter());
  }

  @Override
  public String getEncodingType() {
    return json.getEncodingType();
  }

  @Override
  public Optional<Payload> toData(Object value) throws DataConverterException {
    return json.toData(value);
  }

  @Override
  public <T> T fromData(Payload content, Class<T> valueClass, Type valueType)
      throws DataConverterException {
    try {
      return json.fromData(content, valueClass, valueType);
    } catch (DataConverterException e) {
      if (valueClass == JsonNode.class) return valueClass.cast(marker(content, e));
      if (isListOfJsonNode(valueClass, valueType)) {
        @SuppressWarnings("unchecked")
        T list = (T) List.of(marker(content, e));
        return list;
      }
      throw e;
    }
  }

  private static boolean isListOfJsonNode(Class<?> valueClass, Type valueType) {
    return List.class.isAssignableFrom(valueClass)
        && valueType instanceof ParameterizedType p
        && p.getActualTypeArguments().length == 1
        && p.getActualTypeArguments()[0] == JsonNode.class;
  }

  static ObjectNode marker(Payload content, Exception e) {
    Throwable cause = e.getCause() == null ? e : e.getCause();
    // Inside a list the reader's limit arrives wrapped in a mapping exception.
    for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof StreamConstraintsException) {
        cause = t;
        break;
      }
    }
    String message = String.valueOf(cause.getMessage());
    String reason;
    String detail;
    if (cause instanceof StreamConstraintsException && message.contains("nesting depth")) {
      reason = "too_deep";
      detail = "payload: nested deeper than the JSON reader allows (1,000 levels)";
    } else if (cause instanceof StreamConstraintsException
        && message.contains("Number value length")) {
      reason = "invalid_field";
      detail = "payload: a number longer than the JSON reader allows (1,000 digits)";
    } else if (cause instanceof StreamConstraintsException && message.contains("Name length")) {
      reason = "field_too_long";
      detail = "payload: a property key longer than the JSON reader allows";
    } else if (message.contains("surrogate")) {
      // Jackson refuses unpaired surrogates in field names (values are checked by the parser).
      reason = "invalid_text";
      detail =
          "payload: a property key contains an unpaired surrogate: "
              + StorableText.of(StorableText.firstLine(message), 300);
    } else {
      reason = "not_an_object";
      detail =
          "payload: not decodable as JSON events: "
              + StorableText.of(StorableText.firstLine(message), 300);
    }
    byte[] data = content.getData().toByteArray();
    String raw =
        new String(data, 0, Math.min(data.length, RAW_PREFIX_BYTES), StandardCharsets.UTF_8);
    ObjectNode m = JsonNodeFactory.instance.objectNode();
    m.putObject(UNDECODABLE)
        .put("reason", reason)
        .put("detail", detail)
        .put("bytes", data.length)
        .put("raw", StorableText.of(raw, RAW_PREFIX_BYTES));
    return m;
  }
}
