import type { ConsumedBatch, ConsumedRecord } from '../domain/records';

/** A partition's committed offset (`-1`: none) and the metadata committed with it. */
export interface CommittedOffset {
  partition: number;
  offset: string;
  metadata: string | null;
}

/**
 * What a WatermarkConsumer (watermark-consumer.ts) is told to do: its group and topics, its limits,
 * and how it hands records out, one by one (RecordSpec) or a batch at a time (BatchSpec).
 */

export interface SpecBase {
  name: string;
  groupId: string;
  topics: string[];
  /** Most records of one partition handed out and not yet finished; the partition pauses beyond it. */
  partitionWindow: number;
  /** How long a fetch waits for data (kafkajs maxWaitTimeInMs); 100 ms by default. */
  maxWaitMs?: number;
  /** Most bytes one fetch returns per partition; 512 KiB by default. */
  maxBytesPerPartition?: number;
  /** How long a rebalance waits for this member to join again before dropping it; 60 s by default. */
  rebalanceTimeoutMs?: number;
  /** How often finished offsets are committed, at most; 100 ms by default. */
  commitIntervalMs?: number;
  /**
   * Commit what has finished as soon as a rebalance begins, before this member joins again (true by
   * default): otherwise what it finished since its last commit, on a partition it then loses, is
   * handled again by the next owner. Tests turn it off to stand for such a commit lost to the race.
   */
  commitOnRebalance?: boolean;
  /**
   * Most bytes of records (values and keys) the consumer holds unfinished, over all its partitions;
   * one partition at most a quarter of it. A partition past its share, or any partition while the
   * whole is spent, pauses until it drains (it always keeps one record going, however large).
   */
  bufferBytes?: number;
  /**
   * A record the handler keeps failing on for a reason that is not transient (a bug, data it cannot
   * take): take it out of the way (dead-letter it, or skip it) so its partition moves on. Without
   * this the record is retried until the outcome is durable, however long that takes.
   */
  isolate?(record: ConsumedRecord, error: unknown): Promise<void>;
  /** Told each time a partition pauses, and why. */
  onPause?(reason: 'window' | 'bytes' | 'deferred'): void;
  /**
   * The group's committed offsets on `topic`, with each commit's metadata: read once per topic and
   * assignment, so a partition's new reader skips what the previous one finished past the committed
   * offset (record mode; README decision 92). Without it, nothing is skipped.
   */
  committedOffsets?(topic: string): Promise<CommittedOffset[]>;
  /** Told of each record so skipped. */
  onFinishedElsewhere?(): void;
  /**
   * Assign the same partition indexes of every topic to one member, keeping what members own
   * (co-partitioned-assigner.ts): the member owning index p owns every record keyed to p.
   */
  coPartitioned?: boolean;
  /** Co-partitioned consumers: how partition indexes move between members cleanly. */
  handover?: PartitionHandover;
  /**
   * Topics written rarely (the retry tiers): each of their partitions is left out of fetches
   * (paused) while nothing in it is unread, and their end offsets are probed every `intervalMs`
   * to resume the ones written to (idle-partition-probe.ts).
   */
  idleProbe?: { topics: string[]; intervalMs: number };
}

/**
 * Moving a partition index between members without two of them working on it at once: the member
 * that lost it releases it once its work in flight there has finished; the one that gained it does
 * not start it until then (or until the previous owner must be gone).
 */
export interface PartitionHandover {
  /**
   * Resolves when this member may start the indexes it gained; they stay paused until then. Stops
   * waiting for an index once `stillOwned` says a later rebalance took it away.
   */
  acquire(indexes: number[], stillOwned: (index: number) => boolean): Promise<void>;
  /**
   * This member lost `indexes` and its work there has finished (or been abandoned). First runs
   * `beforeRelease` with those of them it still holds: not one a next owner took without waiting
   * for the release (past its grace), which may have started there already.
   */
  release(indexes: number[], beforeRelease?: (held: number[]) => Promise<void>): Promise<void>;
}

/**
 * Each record is handed out on its own and may finish in any order (one lane per endpoint): the
 * committed offset follows the lowest unfinished record.
 */
export interface RecordSpec extends SpecBase {
  /** Resolves once the record's outcome is durable (delivered, or handed to a retry tier or the DLQ).
   *  A rejection means the outcome could not be made durable: the record is handed back later. */
  handle(record: ConsumedRecord): Promise<void>;
  /** For retry tiers: the record may not be handled before this time (ms epoch). */
  dueAtMs?(record: ConsumedRecord): number | null;
  /** Most records of one partition held in memory until due; the partition pauses beyond it. */
  deferLimit?: number;
}

/**
 * Each fetched batch is handed out whole, one batch of a partition at a time and in order, before
 * the partition's next fetch (the fan-out: the tasks of one batch are produced before those of the
 * next).
 */
export interface BatchSpec extends SpecBase {
  /** Resolves once the batch's outcome is durable; a rejection hands the batch back later. */
  handleBatch(batch: ConsumedBatch): Promise<void>;
}

export type WatermarkConsumerSpec = RecordSpec | BatchSpec;
