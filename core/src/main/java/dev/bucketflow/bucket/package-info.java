/**
 * The bucket domain, free of I/O (DESIGN §2, §6, §7): criteria model, JSON binding ({@link
 * dev.bucketflow.bucket.BucketJson}), fluent builders ({@link dev.bucketflow.bucket.Criteria},
 * {@link dev.bucketflow.bucket.BucketDefinition#builder}), validation ({@link
 * dev.bucketflow.bucket.BucketValidator}), the registry with inverted indexes, the in-memory {@link
 * dev.bucketflow.bucket.Evaluator}, and deadline math ({@link dev.bucketflow.bucket.NextFlip}).
 *
 * <p>Decisions where the contract is silent:
 *
 * <ul>
 *   <li>Rule 2 (positive leaf) is read as "no match without a positive leaf": AND needs one
 *       anchored child, OR needs every branch anchored. Counts are positive only when they need at
 *       least one occurrence ({@code count}, {@code gt N}, {@code gte/eq N>=1}); {@code lt/lte} are
 *       not.
 *   <li>Shape problems (types, enums, unknown fields, in definitions <em>and</em> conditions) come
 *       from the parser; meaning problems (operand shapes, rules 1–5) from the validator, so
 *       builder-made definitions get the same checks.
 *   <li>Enum spellings are exact lower snake case; JSON duplicate keys and trailing content are
 *       errors.
 *   <li>The fingerprint hashes kind + canonical criteria only: renames do not trigger
 *       re-evaluation. Property operand numbers are hashed as written ({@code 3} and {@code 3.0}
 *       differ in hash, not in semantics).
 * </ul>
 */
package dev.bucketflow.bucket;
