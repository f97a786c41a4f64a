package dev.bucketflow.reconcile;

/**
 * Every {@link ReconcileServiceTest} case with three clock-leave chunks at once (the worker's
 * default), chunks of 5: the same sweep semantics whatever the parallelism.
 */
class ReconcileServiceThreeChunksTest extends ReconcileServiceTest {
  @Override
  int parallelism() {
    return 3;
  }
}
