import { OffsetWatermark } from '../domain/offset-watermark';
import { partitionKey, splitPartitionKey } from './partition-key';

/** What a WatermarkConsumer (watermark-consumer.ts) tracks of each partition it is assigned. */

export interface PartitionState {
  watermark: OffsetWatermark;
  /** The last offset of the newest batch handed out whole, control records included. */
  fetchedThrough: bigint | null;
  committed: bigint | null;
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
    generation,
    paused: false,
    bytes: 0,
    deferredBytes: 0,
    pending: new Set(),
    deferred: new Map(),
  };
}

/** Up to the lowest unfinished record; past trailing transaction markers once nothing is in flight. */
function nextCommit(state: PartitionState): string | null {
  const finished = state.watermark.committable();
  let next = finished === null ? null : BigInt(finished);
  if (state.watermark.inFlight() === 0 && state.fetchedThrough !== null) {
    const tail = state.fetchedThrough + 1n;
    if (next === null || tail > next) next = tail;
  }
  if (next === null || (state.committed !== null && next <= state.committed)) return null;
  return next.toString();
}

export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

/** The offset to commit of every partition (keyed `topic:partition`) that has moved since its last. */
export function offsetsToCommit(partitions: ReadonlyMap<string, PartitionState>): PartitionOffset[] {
  const offsets: PartitionOffset[] = [];
  for (const [key, state] of partitions) {
    const offset = nextCommit(state);
    if (offset !== null) offsets.push({ ...splitPartitionKey(key), offset });
  }
  return offsets;
}

/** After `offsets` were committed in the partitions' own generation. */
export function markCommitted(
  partitions: ReadonlyMap<string, PartitionState>,
  offsets: readonly PartitionOffset[],
): void {
  for (const { topic, partition, offset } of offsets) {
    const state = partitions.get(partitionKey(topic, partition));
    if (!state) continue;
    state.watermark.markCommitted(offset);
    state.committed = BigInt(offset);
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
  /** Handlers still running on partitions this member lost (they finish but commit nothing). */
  lostWork: Array<Promise<void>>;
  /** Lost partitions left paused: kafkajs keeps a pause across rebalances, so resume them. */
  pausedLost: Array<{ topic: string; partitions: number[] }>;
}

/**
 * A new generation's assignment. A partition still assigned keeps its state (records in flight
 * there go on and count). A lost one is dropped: its resume timer cleared, its records waiting for
 * their due time dropped (the new owner reads them again from the commit).
 */
export function regroup(
  partitions: ReadonlyMap<string, PartitionState>,
  stillAssigned: (topic: string, partition: number) => boolean,
  generation: number,
): Regrouped {
  const regrouped: Regrouped = { kept: new Map(), lostWork: [], pausedLost: [] };
  for (const [key, state] of partitions) {
    const { topic, partition } = splitPartitionKey(key);
    if (stillAssigned(topic, partition)) {
      state.generation = generation;
      regrouped.kept.set(key, state);
      continue;
    }
    clearTimeout(state.resumeTimer);
    dropDeferred(state);
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
