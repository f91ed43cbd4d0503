import type { EachBatchPayload } from 'kafkajs';
import { RecordWithdrawn, type ConsumedBatch, type ConsumedRecord } from '../domain/records';
import { toRecord } from './consumed-record';
import type { BatchSpec } from './consumer-spec';
import type { OffsetCommitter } from './offset-committer';
import { partitionKey } from './partition-key';
import type { PartitionState } from './partition-state';

/** While a batch is handled (it can wait out a broker restart), the member keeps its session. */
const HEARTBEAT_WHILE_HANDLING_MS = 1_000;
/**
 * Heartbeat answers (kafkajs' error `type`) saying this member's generation is ending or over: a
 * rebalance has begun, or the coordinator dropped the member. Its partitions may be another's next.
 */
const GENERATION_ENDING = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/** What batch mode needs of its WatermarkConsumer (watermark-consumer.ts). */
export interface WholeBatchHost {
  stopping(): boolean;
  generation(): number;
  /**
   * Whether a rebalance has begun that has not ended in a join: kafkajs said so (REBALANCING), or a
   * heartbeat of any batch was answered with one of GENERATION_ENDING. A batch that starts then
   * writes nothing, however soon its own first heartbeat would have told it.
   */
  generationEnding(): boolean;
  /** A heartbeat answered that the generation is ending (cleared at the next join). */
  markGenerationEnding(): void;
  isAssigned(topic: string, partition: number): boolean;
  partitionState(topic: string, partition: number): PartitionState;
  /** The partitions' state, keyed `topic:partition` (replaced at each rebalance). */
  partitions(): Map<string, PartitionState>;
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
 *
 * Once a heartbeat says the generation is ending, the batch is given up at its next write or failure
 * (README decision 99): kafkajs joins again only after it returns, and a member that stays out past
 * the rebalance timeout is dropped while its partition goes to another, which would fan out this
 * batch and newer ones before this member's late copies.
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
    const generation = host.generation();
    let generationEnding = false;
    const consumed: ConsumedBatch = {
      topic: batch.topic,
      partition: batch.partition,
      records,
      assertOwned: () => {
        const owned =
          !generationEnding &&
          !host.generationEnding() &&
          host.generation() === generation &&
          host.isAssigned(batch.topic, batch.partition);
        if (!owned) throw new RecordWithdrawn('a rebalance began before the batch was written');
      },
    };
    const beat = setInterval(
      () =>
        void heartbeat().catch((error: unknown) => {
          if (!GENERATION_ENDING.has(errorType(error))) return;
          generationEnding = true;
          host.markGenerationEnding();
        }),
      HEARTBEAT_WHILE_HANDLING_MS,
    );
    const work = host.untilDurable(
      whileOwned(consumed, () => spec.handleBatch(consumed)),
      records[0],
      () => oneByOne(spec, consumed, host),
    );
    host.pending.add(work);
    let withdrawn = false;
    try {
      await work;
    } catch (error) {
      // Otherwise only while stopping: the batch stays uncommitted and is read again.
      withdrawn = error instanceof RecordWithdrawn;
      if (!withdrawn) return;
    } finally {
      clearInterval(beat);
      host.pending.delete(work);
    }
    if (withdrawn) {
      // Uncommitted, and forgotten: kept through the rebalance, the partition is read again from its
      // commit and these records must count as new, not as tracked already.
      const key = partitionKey(batch.topic, batch.partition);
      if (host.partitions().get(key) === state) host.partitions().delete(key);
      // Rejects with the rebalance's answer: kafkajs joins again at once.
      await heartbeat();
      return;
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
 * `work` (an attempt at the batch, or its isolation) only while the batch is owned, and a failure
 * once it is not any more rethrown as RecordWithdrawn: the retry loop stops there, not a backoff later.
 */
function whileOwned(
  batch: ConsumedBatch,
  work: (error: unknown) => Promise<void>,
): (error?: unknown) => Promise<void> {
  return async (cause) => {
    batch.assertOwned?.();
    try {
      await work(cause);
    } catch (error) {
      batch.assertOwned?.();
      throw error;
    }
  };
}

/** kafkajs' error `type` (a protocol error's name, such as REBALANCE_IN_PROGRESS), or ''. */
function errorType(error: unknown): string {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    e = (e as { cause?: unknown }).cause;
  }
  return '';
}

/**
 * After the batch kept failing for a reason that is not transient: its records one at a time, in
 * order, so only the one at fault is isolated and the rest are handled.
 */
async function oneByOne(spec: BatchSpec, batch: ConsumedBatch, host: WholeBatchHost): Promise<void> {
  for (const record of batch.records) {
    const isolate = spec.isolate && whileOwned(batch, (error) => spec.isolate!(record, error));
    const one = whileOwned(batch, () => spec.handleBatch({ ...batch, records: [record] }));
    await host.untilDurable(one, record, isolate);
  }
}
