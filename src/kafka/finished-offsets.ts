/**
 * The records of a partition finished past its committed offset, carried in the offset commit's
 * metadata (README decision 92). Kafka commits one offset per partition, the lowest unfinished
 * record, so one slow record holds back the commit of everything finished after it, and a crash or
 * a rebalance hands all of that to the partition's next reader again. The commit also names what
 * finished past it; the next reader skips those records.
 *
 * Format: `hs1;` then `gap.length` pairs in base 36, comma separated. Each range starts `gap` past
 * the end of the one before (the first, past the committed offset) and spans `length` offsets. Any
 * other metadata (none, another tool's, a damaged one) names nothing: every record is read again,
 * as without it.
 */

const PREFIX = 'hs1;';
/** Kafka refuses a commit whose metadata passes `offset.metadata.max.bytes` (4,096 by default). */
export const FINISHED_METADATA_MAX_CHARS = 2_048;
const PAIR = /^([0-9a-z]{1,13})\.([0-9a-z]{1,13})$/;

/**
 * The metadata naming `ranges` (`[first, last]`, increasing, all past `committed`), as many of
 * them as fit in `maxChars`; null when there are none. Naming fewer is always safe: the rest are
 * read again.
 */
export function encodeFinished(
  committed: bigint,
  ranges: ReadonlyArray<readonly [bigint, bigint]>,
  maxChars = FINISHED_METADATA_MAX_CHARS,
): string | null {
  let text = PREFIX;
  let end = committed;
  let named = 0;
  for (const [first, last] of ranges) {
    if (first < end || last < first) break;
    const pair = `${(first - end).toString(36)}.${(last - first + 1n).toString(36)}`;
    const next = named === 0 ? text + pair : `${text},${pair}`;
    if (next.length > maxChars) break;
    text = next;
    end = last + 1n;
    named++;
  }
  return named === 0 ? null : text;
}

/** The ranges the metadata committed with `committed` names, or none if it is not ours. */
export function decodeFinished(committed: bigint, metadata: string | null): Array<[bigint, bigint]> {
  if (metadata === null || !metadata.startsWith(PREFIX) || metadata.length > FINISHED_METADATA_MAX_CHARS) {
    return [];
  }
  const ranges: Array<[bigint, bigint]> = [];
  let end = committed;
  for (const pair of metadata.slice(PREFIX.length).split(',')) {
    const match = PAIR.exec(pair);
    if (!match) return [];
    const first = end + parseBase36(match[1]);
    const length = parseBase36(match[2]);
    if (length === 0n) return [];
    ranges.push([first, first + length - 1n]);
    end = first + length;
  }
  return ranges;
}

function parseBase36(digits: string): bigint {
  let value = 0n;
  for (const digit of digits) value = value * 36n + BigInt(parseInt(digit, 36));
  return value;
}

/**
 * What a partition's previous reader finished, as its last commit says: every record below the
 * committed offset, and those its metadata names. Asked in increasing offset order, as a partition
 * is read; once past the last one it names, it answers without parsing the offset.
 */
export class FinishedElsewhere {
  private next = 0;
  /** The last offset known finished, or null once every later one is asked for. */
  private through: bigint | null;

  private constructor(
    private readonly committed: bigint | null,
    private readonly ranges: ReadonlyArray<readonly [bigint, bigint]>,
  ) {
    const lastRange = ranges.length > 0 ? ranges[ranges.length - 1][1] : null;
    const belowCommit = committed !== null && committed > 0n ? committed - 1n : null;
    this.through = lastRange ?? belowCommit;
  }

  /** Nothing is known finished: every record is handled. */
  static readonly none = new FinishedElsewhere(null, []);

  /** From a committed offset (a decimal string, or null for none) and its metadata. */
  static fromCommit(offset: string | null, metadata: string | null): FinishedElsewhere {
    if (offset === null || !/^\d{1,19}$/.test(offset)) return FinishedElsewhere.none;
    const committed = BigInt(offset);
    return new FinishedElsewhere(committed, decodeFinished(committed, metadata));
  }

  has(offset: string): boolean {
    if (this.through === null) return false;
    const value = BigInt(offset);
    if (value > this.through) {
      this.through = null;
      return false;
    }
    if (this.committed !== null && value < this.committed) return true;
    while (this.next < this.ranges.length && this.ranges[this.next][1] < value) this.next++;
    return this.next < this.ranges.length && this.ranges[this.next][0] <= value;
  }
}
