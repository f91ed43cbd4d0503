/** Pure consumer-lag arithmetic: no Kafka, no Nest. Offsets arrive as decimal strings, as Kafka clients give them. */

export interface PartitionLag {
  partition: number;
  /** The group's committed offset (the next record it will read); -1 when it never committed. */
  committedOffset: number;
  /** The offset the next produced record will get (the high watermark). */
  logEndOffset: number;
  lag: number;
}

export interface GroupTopicLag {
  group: string;
  topic: string;
  partitions: PartitionLag[];
  totalLag: number;
}

export interface TopicOffsets {
  partition: number;
  /** High watermark. */
  high: string;
  /** Earliest offset still retained. */
  low: string;
}

/**
 * Lag of one partition. A group that never committed (offset -1) will start from the earliest
 * retained record (our consumers subscribe `fromBeginning`), so everything retained is its lag:
 * logEnd - earliest. A committed offset behind the earliest (records deleted by retention) counts
 * only what is still there to read.
 */
export function partitionLag(committed: number, logEnd: number, earliest: number): number {
  const start = committed < 0 ? earliest : Math.max(committed, earliest);
  return Math.max(0, logEnd - start);
}

export function topicLag(
  group: string,
  topic: string,
  committed: ReadonlyArray<{ partition: number; offset: string }>,
  offsets: ReadonlyArray<TopicOffsets>,
): GroupTopicLag {
  const committedByPartition = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  const partitions = [...offsets]
    .sort((a, b) => a.partition - b.partition)
    .map(({ partition, high, low }): PartitionLag => {
      const committedOffset = committedByPartition.get(partition) ?? -1;
      const logEndOffset = Number(high);
      return {
        partition,
        committedOffset,
        logEndOffset,
        lag: partitionLag(committedOffset, logEndOffset, Number(low)),
      };
    });
  return { group, topic, partitions, totalLag: partitions.reduce((sum, p) => sum + p.lag, 0) };
}

/**
 * Estimates how long the oldest unconsumed record of each partition has been waiting, from periodic
 * samples of the log-end offset: the record at the committed offset was produced no later than the
 * first sample whose log end had passed it. A lower bound with the sampling interval's resolution,
 * known only since this process started watching (the record itself is never read).
 */
export class OldestUnfinishedTracker {
  /** Per group/topic/partition: (observedAtMs, logEndOffset) samples, oldest first, log ends rising. */
  private readonly samples = new Map<string, Array<{ atMs: number; logEnd: number }>>();

  constructor(private readonly maxSamples = 20_000) {}

  /** Records one observation and returns the age in ms of the oldest unconsumed record (0: none). */
  observe(key: string, committed: number, logEnd: number, lag: number, nowMs: number): number {
    let history = this.samples.get(key);
    if (!history) {
      history = [];
      this.samples.set(key, history);
    }
    const last = history[history.length - 1];
    if (!last || logEnd > last.logEnd) history.push({ atMs: nowMs, logEnd });
    if (lag === 0) {
      history.splice(0, history.length - 1);
      return 0;
    }
    const start = committed < 0 ? logEnd - lag : committed;
    // Drop samples whose records are all consumed, keeping the newest one at or below `start`...
    while (history.length > 1 && history[1].logEnd <= start) history.shift();
    if (history.length > this.maxSamples) history.splice(0, history.length - this.maxSamples);
    // ...the first sample whose log end is past `start` already contained the oldest unconsumed record.
    const first = history.find((sample) => sample.logEnd > start);
    return first ? Math.max(0, nowMs - first.atMs) : 0;
  }

  forget(keepKeys: ReadonlySet<string>): void {
    for (const key of this.samples.keys()) if (!keepKeys.has(key)) this.samples.delete(key);
  }
}
