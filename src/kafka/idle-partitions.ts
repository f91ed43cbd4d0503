/**
 * Which partitions of rarely written topics (the retry tiers) a consumer can leave out of its
 * fetches for now. kafkajs puts every assigned, unpaused partition in every fetch request, and a
 * busy consumer fetches hundreds of times a second: the deliveries group's seven idle tiers made
 * seven eighths of each request, of its encoding and decoding and of the broker's work on it
 * (README decision 67). A partition is idle when nothing in it is unread; its readers are paused
 * until a probe of the topics' end offsets says otherwise.
 */

/** A partition of an idle-probed topic, as the probe sees it. */
export interface ProbedPartition {
  topic: string;
  partition: number;
  /** The broker's end offset (the next offset to be written). */
  end: bigint;
  /** The log's first offset (where a group with no committed offset starts: fromBeginning). */
  start: bigint;
  /** The group's committed offset, or null when it has none. */
  committed: bigint | null;
  /** The next offset this member would read, from what it fetched, when it has fetched any. */
  fetchedNext: bigint | null;
}

/**
 * Whether nothing in the partition is unread: where this member reads next (what it fetched, or
 * else the group's committed offset, or else the log's start) is at the end. Never says idle for a
 * partition that holds an unread record: each source is at most where the member really is.
 */
export function isIdle(partition: ProbedPartition): boolean {
  let next = partition.committed ?? partition.start;
  if (partition.fetchedNext !== null && partition.fetchedNext > next) next = partition.fetchedNext;
  return next >= partition.end;
}

/**
 * How often to probe: half the shortest tier's delay (a record is read at most that much after it
 * is written, well before it is due), between 50 ms and 500 ms.
 */
export function probeIntervalMs(shortestDelayMs: number): number {
  return Math.min(500, Math.max(50, Math.floor(shortestDelayMs / 2)));
}
