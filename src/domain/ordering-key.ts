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

/** A strict block as the parking rules see it: its key, and whether it was made for the whole stream. */
export interface BlockView {
  key: string;
  /** Made while the endpoint ran one delivery at a time: it holds every later delivery (decision 74). */
  wholeStream: boolean;
}

/**
 * The blocks a strict delivery's parking reads: its lane key's; the whole stream's too when its lane
 * key is a record's (a whole-stream block made before `maxConcurrency` was raised); and its
 * record's key too when its lane key is the whole stream (a record's block made before it was
 * lowered).
 */
export function blocksToRead(laneKey: string, wholeStream: boolean, recordKey: string | undefined): string[] {
  const keys = [laneKey];
  if (laneKey !== WHOLE_STREAM) keys.push(WHOLE_STREAM);
  if (wholeStream && recordKey !== undefined && recordKey !== WHOLE_STREAM) keys.push(recordKey);
  return keys;
}

/**
 * Which lot a strict delivery parks in, of the blocks `blocksToRead` found, or null when none holds
 * it (README decisions 74 and 95): with the whole stream as lane key, its record's block first
 * (`maxConcurrency` lowered while blocked: that record's earlier deliveries are parked there, even
 * if the stream has been blocked since); else its lane key's block; else, with a record's key as
 * lane key, a block made for the whole stream (`maxConcurrency` raised while blocked: the record
 * may have deliveries parked there). Per record, order holds across either change; across records,
 * a delivery parked behind its record's block may go before the stream's blocker.
 */
export function parkingLot(
  laneKey: string,
  wholeStream: boolean,
  recordKey: string | undefined,
  blocks: readonly BlockView[],
): string | null {
  const blocked = (key: string, onlyWholeStream = false): boolean =>
    blocks.some((block) => block.key === key && (!onlyWholeStream || block.wholeStream));
  // The record's own block first: its earlier deliveries are parked there, and a lot is released
  // one at a time, so parking in the stream's lot would let this one overtake them.
  if (wholeStream && recordKey !== undefined && recordKey !== WHOLE_STREAM && blocked(recordKey)) {
    return recordKey;
  }
  if (blocked(laneKey)) return laneKey;
  if (laneKey !== WHOLE_STREAM && blocked(WHOLE_STREAM, true)) return WHOLE_STREAM;
  return null;
}
