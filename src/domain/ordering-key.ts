import type { PlatformEvent } from './cloud-event';
import type { OrderingMode } from './endpoint-snapshot';

/**
 * Ordering keys (README Section B, "Ordering modes"): deliveries to one endpoint that share a key go
 * one at a time, in order; different keys go in parallel up to the endpoint's `maxConcurrency`.
 */

/**
 * The key an event asks to be ordered by: the CloudEvents partitioning extension (`partitionkey`)
 * when present, else its `subject` (what the event is about: one record), else none.
 */
export function orderingKeyOf(event: Pick<PlatformEvent, 'partitionKey' | 'subject'>): string | undefined {
  return event.partitionKey ?? event.subject;
}

/** The same key for every delivery of one lane: the whole endpoint stream is one key. */
export const WHOLE_STREAM = '';

/**
 * The key a delivery waits on within its endpoint's lane, or null when it waits on none (it may run
 * beside any other delivery of the endpoint, up to the lane's concurrency).
 *
 * - `maxConcurrency` 1: the lane runs one delivery at a time anyway; for `strict` the whole stream is
 *   one key (a failing delivery blocks every later one, as before keys existed).
 * - More than 1, the delivery has a key: that key.
 * - More than 1, no key: `none` waits on nothing (such endpoints never promised order); `strict`
 *   puts every keyless delivery of the endpoint in one key, so they keep their order.
 */
export function laneOrderKey(
  endpoint: { maxConcurrency: number; ordering: OrderingMode },
  orderingKey: string | undefined,
): string | null {
  if (endpoint.maxConcurrency <= 1) return endpoint.ordering === 'strict' ? WHOLE_STREAM : null;
  if (orderingKey !== undefined) return orderingKey;
  return endpoint.ordering === 'strict' ? WHOLE_STREAM : null;
}
