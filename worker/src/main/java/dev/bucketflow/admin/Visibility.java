package dev.bucketflow.admin;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.temporal.api.enums.v1.IndexedValueType;
import io.temporal.api.operatorservice.v1.AddSearchAttributesRequest;
import io.temporal.api.operatorservice.v1.ListSearchAttributesRequest;
import io.temporal.common.SearchAttributeKey;
import io.temporal.serviceclient.OperatorServiceStubs;
import io.temporal.serviceclient.OperatorServiceStubsOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bucketflow's custom search attributes (Keyword), set on expiry, backfill and journey workflows by
 * {@link VisibilityInterceptor} so the Temporal Web UI finds "every workflow of bucket X" or "of
 * user u1": {@code BucketflowBucketId = 'power-users'}, {@code BucketflowUserId = 'u1'}.
 */
public final class Visibility {

  private static final Logger log = LoggerFactory.getLogger(Visibility.class);

  public static final SearchAttributeKey<String> BUCKET_ID =
      SearchAttributeKey.forKeyword("BucketflowBucketId");
  public static final SearchAttributeKey<String> USER_ID =
      SearchAttributeKey.forKeyword("BucketflowUserId");
  static final List<String> NAMES = List.of(BUCKET_ID.getName(), USER_ID.getName());

  private Visibility() {}

  /**
   * Registers both attributes in {@code namespace} through the OperatorService where the server
   * allows it (a self-hosted server, the dev server, Temporal's Java test server), else checks that
   * they exist (Temporal Cloud: add them with {@code tcld} or the Cloud UI, see README).
   *
   * @return whether both exist now; when false, workflows are started without them (a start naming
   *     an undefined attribute would be refused), with one warning here
   */
  public static boolean register(WorkflowServiceStubs service, String namespace) {
    OperatorServiceStubs operator =
        OperatorServiceStubs.newServiceStubs(
            OperatorServiceStubsOptions.newBuilder()
                .setChannel(service.getRawChannel())
                .validateAndBuildWithDefaults());
    try {
      AddSearchAttributesRequest.Builder add =
          AddSearchAttributesRequest.newBuilder().setNamespace(namespace);
      NAMES.forEach(n -> add.putSearchAttributes(n, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD));
      try {
        operator
            .blockingStub()
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .addSearchAttributes(add.build());
        log.info("search attributes {} registered in namespace '{}'", NAMES, namespace);
        return true;
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.ALREADY_EXISTS) return true;
        try {
          var existing =
              operator
                  .blockingStub()
                  .withDeadlineAfter(10, TimeUnit.SECONDS)
                  .listSearchAttributes(
                      ListSearchAttributesRequest.newBuilder().setNamespace(namespace).build())
                  .getCustomAttributesMap();
          if (existing.keySet().containsAll(NAMES)) return true;
        } catch (StatusRuntimeException ignored) {
          // fall through to the warning
        }
        log.warn(
            "search attributes {} are not registered in namespace '{}' and could not be added ({}): workflows "
                + "start without them; add them as Keyword (README, Temporal visibility)",
            NAMES,
            namespace,
            e.getStatus().getCode());
        return false;
      }
    } finally {
      operator.shutdown();
    }
  }
}
