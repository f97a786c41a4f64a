/**
 * Journey definitions, free of I/O (DESIGN §10): the {@link
 * dev.bucketflow.journey.JourneyDefinition} record and builder, JSON binding ({@link
 * dev.bucketflow.journey.JourneyJson}), boot-time validation ({@link
 * dev.bucketflow.journey.JourneyValidator}) and the routing index ({@link
 * dev.bucketflow.journey.JourneyRegistry}).
 *
 * <p>Decisions where the contract is silent:
 *
 * <ul>
 *   <li>{@code name} and {@code description} are accepted in JSON (strings) and ignored.
 *   <li>Shape problems (types, enum spellings, unknown fields, missing {@code id}) come from the
 *       parser and drop the definition; meaning problems from the validator, which needs the bucket
 *       ids, the worker's own task queue and its registered workflow types.
 *   <li>{@code once_per_period} needs a positive {@code entryPeriod} (else it would silently behave
 *       as {@code unlimited}); an {@code entryPeriod} with another limit is allowed and unused.
 *   <li>An {@code exitOn} entry may not repeat, be empty, or equal the {@code triggerEvent}.
 *   <li>{@code bucket:entered:} / {@code bucket:left:} with an empty bucket id is an error; any
 *       other {@code bucket:*} name except the four transition shapes is an error.
 *   <li>A blank {@code taskQueue} is an error (omit it for the worker's own queue). A {@code
 *       taskQueue} equal to the worker's own queue counts as the own queue for the registered-type
 *       check.
 *   <li>Disabled journeys are validated but not routed ({@link
 *       dev.bucketflow.journey.JourneyRegistry} drops them).
 * </ul>
 */
package dev.bucketflow.journey;
