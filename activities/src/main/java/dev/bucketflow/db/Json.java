package dev.bucketflow.db;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jooq.JSONB;

/** JSON between Jackson and jOOQ's {@link JSONB}. */
public final class Json {

  public static final ObjectMapper MAPPER = new ObjectMapper().findAndRegisterModules();

  public static JSONB jsonb(JsonNode node) {
    return JSONB.valueOf(node == null ? "{}" : node.toString());
  }

  public static ObjectNode object(JSONB jsonb) {
    if (jsonb == null) return MAPPER.createObjectNode();
    try {
      JsonNode node = MAPPER.readTree(jsonb.data());
      return node instanceof ObjectNode o ? o : MAPPER.createObjectNode();
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("unreadable jsonb from the database", e);
    }
  }

  private Json() {}
}
