package dev.bucketflow.admin;

import static dev.bucketflow.schema.Tables.CONTACTS;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bucketflow.bucket.BucketDefinition;
import dev.bucketflow.bucket.BucketJson;
import dev.bucketflow.bucket.BucketValidator;
import dev.bucketflow.bucket.LoadResult;
import dev.bucketflow.bucket.Problem;
import dev.bucketflow.criteria.CriteriaSql;
import dev.bucketflow.db.Json;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.jooq.Condition;

/**
 * {@code POST /api/preview}: the size a bucket definition would have now, without saving anything.
 * The definition is checked exactly as a definitions file is at boot (parse + validation); when it
 * is valid its criteria are compiled by {@link CriteriaSql} — the compiler the backfill uses — and
 * counted set-based over the live contacts ({@code deleted_at IS NULL}), which is the population a
 * first-time backfill joins. One read-only transaction with a statement timeout.
 */
final class Previewer {

  static final int SAMPLE = 20;

  private final AdminContext ctx;

  Previewer(AdminContext ctx) {
    this.ctx = ctx;
  }

  /**
   * @throws ApiError 422 {@code invalid_definition} with {@code problems} when the definition is
   *     not valid
   */
  ObjectNode preview(JsonNode body) {
    if (!body.isObject())
      throw ApiError.badRequest(
          "invalid_body", "body: expected one bucket definition as a JSON object");
    LoadResult parsed = BucketJson.parse(body, "preview");
    List<Problem> problems = new ArrayList<>(parsed.problems());
    if (problems.isEmpty()) problems.addAll(BucketValidator.validate(parsed.buckets()));
    if (problems.isEmpty()
        && parsed.buckets().size() == 1
        && parsed.buckets().get(0).criteria() == null) {
      problems.add(
          new Problem(
              parsed.buckets().get(0).id() + ".criteria",
              "a manual bucket has no criteria to preview"));
    }
    if (!problems.isEmpty()) throw new InvalidDefinition(problems);
    BucketDefinition bucket = parsed.buckets().get(0);
    Instant now = ctx.clock().instant();
    var c = CONTACTS;
    Condition matching =
        c.DELETED_AT
            .isNull()
            .and(CriteriaSql.predicate(bucket.criteria(), c.EXTERNAL_ID, c.PROPERTIES, now));
    return ctx.dsl()
        .transactionResult(
            cfg -> {
              var tx = cfg.dsl();
              tx.execute("SET TRANSACTION READ ONLY");
              tx.execute("SET LOCAL statement_timeout = '60s'");
              int count = tx.fetchCount(c, matching);
              List<String> sample =
                  tx.select(c.EXTERNAL_ID)
                      .from(c)
                      .where(matching)
                      .orderBy(c.EXTERNAL_ID)
                      .limit(SAMPLE)
                      .fetch(c.EXTERNAL_ID);
              ObjectNode out = Json.MAPPER.createObjectNode();
              out.put("bucketId", bucket.id());
              out.put("evaluatedAt", now.toString());
              out.put("count", count);
              ArrayNode s = out.putArray("sample");
              sample.forEach(s::add);
              return out;
            });
  }

  /** A definition that does not validate: answered 422 with every problem and its path. */
  static final class InvalidDefinition extends RuntimeException {
    final List<Problem> problems;

    InvalidDefinition(List<Problem> problems) {
      super(problems.size() + " problem(s)", null, false, false);
      this.problems = List.copyOf(problems);
    }
  }
}
