import type { EachBatchPayload } from 'kafkajs';
import type { ConsumedBatch, ConsumedRecord } from '../domain/records';
import { toRecord } from './consumed-record';
import type { BatchSpec } from './consumer-spec';
import type { OffsetCommitter } from './offset-committer';
import type { PartitionState } from './partition-state';

/** While a batch is handled (it can wait out a broker restart), the member keeps its session. */
const HEARTBEAT_WHILE_HANDLING_MS = 1_000;

/** What batch mode needs of its WatermarkConsumer (watermark-consumer.ts). */
export interface WholeBatchHost {
  stopping(): boolean;
  generation(): number;
  partitionState(topic: string, partition: number): PartitionState;
  /** See handleUntilDurable (until-durable.ts). */
  untilDurable(
    work: () => Promise<void>,
    first: ConsumedRecord,
    isolate?: (error: unknown) => Promise<void>,
  ): Promise<void>;
  /** Work running now, waited for at the stop. */
  pending: Set<Promise<void>>;
  committer: OffsetCommitter;
}

/**
 * Batch mode: the batch is handled before this partition's next fetch, as kafkajs' own eachBatch
 * would, with heartbeats going on while it waits. Handing it off and fetching on made the fan-out
 * fetch and produce in more, smaller requests (README decision 29). Its offsets complete once the
 * handler has made its outcome durable; a batch whose partition moved to another member
 * meanwhile completes nothing: the new owner reads it again.
 */
export async function handleWholeBatch(
  { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload,
  spec: BatchSpec,
  host: WholeBatchHost,
): Promise<void> {
  if (!isRunning() || isStale() || host.stopping()) return;
  const state = host.partitionState(batch.topic, batch.partition);
  // After a rebalance this member kept the partition through, kafkajs reads again from the
  // committed offset: what is tracked already was handled.
  const fresh = batch.messages.filter((message) => !state.watermark.hasTracked(message.offset));
  if (fresh.length === 0 && state.watermark.inFlight() === 0 && batch.messages.length > 0) {
    // Handled already, read again as their commit had not landed before a rebalance: resolved, or
    // kafkajs fetches these same records forever and the partition stalls (README Section B).
    resolveOffset(batch.messages[batch.messages.length - 1].offset);
  }
  if (fresh.length > 0) {
    const records = fresh.map((message) => toRecord(batch.topic, batch.partition, message));
    for (const record of records) state.watermark.track(record.offset);
    const consumed: ConsumedBatch = { topic: batch.topic, partition: batch.partition, records };
    const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_WHILE_HANDLING_MS);
    const work = host.untilDurable(
      () => spec.handleBatch(consumed),
      records[0],
      () => oneByOne(spec, consumed, host),
    );
    host.pending.add(work);
    try {
      await work;
    } catch {
      return; // Only while stopping: the batch stays uncommitted and is read again.
    } finally {
      clearInterval(beat);
      host.pending.delete(work);
    }
    if (state.generation !== host.generation() || isStale()) return;
    for (const record of records) state.watermark.complete(record.offset);
    resolveOffset(records[records.length - 1].offset);
    // Commit now, in the gap before the next fetch, rather than on the timer: a commit sent while a
    // fetch waits on the same broker connection waits behind it, and the fetch after behind it.
    // At most once an interval, though: at 1,000 events/s a commit after every batch was some
    // 180 OffsetCommit requests a second, each a write to the broker's offsets log (decision 80).
    if (host.committer.idleForAnInterval()) void host.committer.commit();
  }
  state.fetchedThrough = BigInt(batch.lastOffset());
  await heartbeat();
}

/**
 * After the batch kept failing for a reason that is not transient: its records one at a time, in
 * order, so only the one at fault is isolated and the rest are handled.
 */
async function oneByOne(spec: BatchSpec, batch: ConsumedBatch, host: WholeBatchHost): Promise<void> {
  for (const record of batch.records) {
    const isolate = spec.isolate && ((error: unknown) => spec.isolate!(record, error));
    await host.untilDurable(() => spec.handleBatch({ ...batch, records: [record] }), record, isolate);
  }
}
