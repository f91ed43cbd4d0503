import { OffsetWatermark } from '../domain/offset-watermark';
import { encodeFinished, FINISHED_METADATA_MAX_CHARS, type FinishedElsewhere } from './finished-offsets';
import { partitionKey, splitPartitionKey } from './partition-key';

/** What a WatermarkConsumer (watermark-consumer.ts) tracks of each partition it is assigned. */

export interface PartitionState {
  watermark: OffsetWatermark;
  /** The last offset of the newest batch handed out whole, control records included. */
  fetchedThrough: bigint | null;
  committed: bigint | null;
  /** The finished-ahead metadata of the last commit, and the watermark's completions then. */
  committedMetadata: string | null;
  committedCompletions: number;
  /** What the partition's previous reader finished (record mode; read before its first record). */
  finishedElsewhere?: FinishedElsewhere;
  generation: number;
  paused: boolean;
  resumeTimer?: NodeJS.Timeout;
  /** Bytes of this partition's unfinished records, those waiting for their due time apart. */
  bytes: number;
  deferredBytes: number;
  /** Its records' handlers still running (waited for before a lost partition is released). */
  pending: Set<Promise<void>>;
  /** Records fetched before their due time (retry tiers) and their sizes, dropped on rebalance and stop. */
  deferred: Map<NodeJS.Timeout, number>;
}

export function newPartitionState(generation: number): PartitionState {
  return {
    watermark: new OffsetWatermark(),
    fetchedThrough: null,
    committed: null,
    committedMetadata: null,
    committedCompletions: 0,
    generation,
    paused: false,
    bytes: 0,
    deferredBytes: 0,
    pending: new Set(),
    deferred: new Map(),
  };
}

/** Most ranges one commit names; more would not fit FINISHED_METADATA_MAX_CHARS anyway. */
const MAX_FINISHED_RANGES = Math.floor(FINISHED_METADATA_MAX_CHARS / 4);

/**
 * Up to the lowest unfinished record; past trailing transaction markers once nothing is in flight;
 * with what finished past it (decision 92). Null when neither has changed since the last commit.
 */
function nextCommit(
  state: PartitionState,
  namesFinished: boolean,
): Omit<PartitionOffset, 'topic' | 'partition'> | null {
  const finished = state.watermark.committable();
  let next = finished === null ? null : BigInt(finished);
  if (state.watermark.inFlight() === 0 && state.fetchedThrough !== null) {
    const tail = state.fetchedThrough + 1n;
    if (next === null || tail > next) next = tail;
  }
  const moved = next !== null && (state.committed === null || next > state.committed);
  if (!moved) next = state.committed ?? nullable(state.watermark.oldestPending());
  if (next === null) return null;
  const metadata = namesFinished ? finishedAhead(state, next) : null;
  if (!moved && metadata === state.committedMetadata) return null;
  return { offset: next.toString(), metadata, completedCount: state.watermark.completedCount() };
}

/** The metadata naming what finished past `offset`: re-encoded only after a completion. */
function finishedAhead(state: PartitionState, offset: bigint): string | null {
  const { watermark } = state;
  if (watermark.inFlight() === 0) return null;
  if (offset === state.committed && watermark.completedCount() === state.committedCompletions) {
    return state.committedMetadata;
  }
  return encodeFinished(offset, watermark.finishedAhead(MAX_FINISHED_RANGES));
}

function nullable(offset: string | null): bigint | null {
  return offset === null ? null : BigInt(offset);
}

export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
  /** What finished past `offset` (finished-offsets.ts), or null. */
  metadata: string | null;
  /** The watermark's completions when this was taken. */
  completedCount: number;
}

/**
 * What to commit of every partition (keyed `topic:partition`) whose offset or metadata has changed;
 * `namesFinished` false: the offsets alone.
 */
export function offsetsToCommit(
  partitions: ReadonlyMap<string, PartitionState>,
  namesFinished = true,
): PartitionOffset[] {
  const offsets: PartitionOffset[] = [];
  for (const [key, state] of partitions) {
    const commit = nextCommit(state, namesFinished);
    if (commit !== null) offsets.push({ ...splitPartitionKey(key), ...commit });
  }
  return offsets;
}

/** After `offsets` were committed in the partitions' own generation. */
export function markCommitted(
  partitions: ReadonlyMap<string, PartitionState>,
  offsets: readonly PartitionOffset[],
): void {
  for (const { topic, partition, offset, metadata, completedCount } of offsets) {
    const state = partitions.get(partitionKey(topic, partition));
    if (!state) continue;
    state.watermark.markCommitted(offset);
    state.committed = BigInt(offset);
    state.committedMetadata = metadata;
    state.committedCompletions = completedCount;
  }
}

/** Deferred records are dropped unhandled and uncommitted: their partition's next owner fetches them again. */
export function dropDeferred(state: PartitionState): void {
  for (const timer of state.deferred.keys()) clearTimeout(timer);
  state.deferred.clear();
  state.deferredBytes = 0;
}

export interface Regrouped {
  /** The partitions still assigned, now of the new generation, with their state. */
  kept: Map<string, PartitionState>;
  /** The partitions this member lost, with their state: what finishes there is committed before release. */
  lost: Map<string, PartitionState>;
  /** Handlers still running on partitions this member lost (waited for before their release). */
  lostWork: Array<Promise<void>>;
  /** Lost partitions left paused: kafkajs keeps a pause across rebalances, so resume them. */
  pausedLost: Array<{ topic: string; partitions: number[] }>;
}

/**
 * A new generation's assignment. A partition still assigned keeps its state (records in flight
 * there go on and count). A lost one leaves the member's partitions: its resume timer cleared, its
 * records waiting for their due time dropped (the new owner reads them again from the commit); the
 * records in flight there finish, and with a handover are committed before it releases the partition
 * (decision 93).
 */
export function regroup(
  partitions: ReadonlyMap<string, PartitionState>,
  stillAssigned: (topic: string, partition: number) => boolean,
  generation: number,
): Regrouped {
  const regrouped: Regrouped = { kept: new Map(), lost: new Map(), lostWork: [], pausedLost: [] };
  for (const [key, state] of partitions) {
    const { topic, partition } = splitPartitionKey(key);
    if (stillAssigned(topic, partition)) {
      state.generation = generation;
      regrouped.kept.set(key, state);
      continue;
    }
    clearTimeout(state.resumeTimer);
    dropDeferred(state);
    regrouped.lost.set(key, state);
    regrouped.lostWork.push(...state.pending);
    if (state.paused) regrouped.pausedLost.push({ topic, partitions: [partition] });
  }
  return regrouped;
}

/**
 * The consumer's byte budget (spec.bufferBytes) over the records it holds unfinished: one partition
 * at most a quarter of it.
 */
export class ByteBudget {
  private total = 0;

  constructor(private readonly budget: number | undefined) {}

  held(): number {
    return this.total;
  }

  /** Taking a record of `size` more into `state` would pass the partition's share or the whole. */
  wouldOverrun(state: PartitionState, size: number): boolean {
    if (this.budget === undefined) return false;
    return state.bytes + size > this.budget / 4 || this.total + size > this.budget;
  }

  hold(state: PartitionState, size: number): void {
    state.bytes += size;
    this.total += size;
  }

  release(state: PartitionState, size: number): void {
    state.bytes -= size;
    this.total -= size;
  }

  /**
   * Whether a partition paused for bytes may resume. A partition with nothing in flight always
   * may: it may take one record at a time while others hold the whole budget.
   */
  drained(state: PartitionState): boolean {
    const budget = this.budget ?? Number.POSITIVE_INFINITY;
    return state.bytes === 0 || (state.bytes <= budget / 8 && this.total <= (budget * 3) / 4);
  }
}
