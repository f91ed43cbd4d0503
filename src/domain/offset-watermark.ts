/**
 * The commit watermark of one partition whose messages finish out of order (one lane per endpoint).
 *
 * Kafka commits "the next offset to read", so the committable offset is one past the last offset of
 * the contiguous completed prefix. Offsets may have gaps (transaction markers, compaction); a gap is
 * never tracked, so it never holds the watermark back.
 *
 * In-order completion is O(1): the queue head is popped as it completes. Out-of-order completions
 * wait in the queue, marked done, until everything before them is done.
 */

interface PendingOffset {
  readonly offset: bigint;
  done: boolean;
}

const OFFSET_PATTERN = /^\d{1,19}$/;
const INT64_MAX = 9_223_372_036_854_775_807n;
// Compact the queue's consumed prefix once it is this long and at least half the array.
const COMPACT_AFTER = 1024;

export class InvalidOffsetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidOffsetError';
  }
}

function parseOffset(offset: string): bigint {
  const value = OFFSET_PATTERN.test(offset) ? BigInt(offset) : -1n;
  if (value < 0n || value > INT64_MAX) {
    throw new InvalidOffsetError(`offset must be a non-negative int64 decimal string, got "${offset}"`);
  }
  return value;
}

export class OffsetWatermark {
  private readonly queue: PendingOffset[] = [];
  private head = 0;
  private readonly byOffset = new Map<bigint, PendingOffset>();
  private lastTracked: bigint | null = null;
  /** Last offset of the contiguous completed prefix. */
  private lastCompleted: bigint | null = null;
  /** The last offset handed to Kafka as committed (already the "+1" form). */
  private committed: bigint | null = null;
  private pendingCount = 0;
  private completions = 0;

  /** Registers a fetched message. Offsets must arrive in strictly increasing order. */
  track(offset: string): void {
    const value = parseOffset(offset);
    if (this.lastTracked !== null && value <= this.lastTracked) {
      throw new InvalidOffsetError(`offset ${offset} tracked after ${this.lastTracked.toString()}`);
    }
    this.lastTracked = value;
    const entry: PendingOffset = { offset: value, done: false };
    this.queue.push(entry);
    this.byOffset.set(value, entry);
    this.pendingCount++;
  }

  /**
   * Marks a tracked message finished. Returns false, changing nothing, for an offset that is not
   * pending (never tracked, or already completed) so a duplicate completion cannot corrupt the count.
   */
  complete(offset: string): boolean {
    const entry = this.byOffset.get(parseOffset(offset));
    if (entry === undefined || entry.done) return false;
    entry.done = true;
    this.pendingCount--;
    this.completions++;
    this.advance();
    return true;
  }

  /** The offset to commit now, or null when the watermark has not moved past the last commit. */
  committable(): string | null {
    if (this.lastCompleted === null) return null;
    const next = this.lastCompleted + 1n;
    if (this.committed !== null && next <= this.committed) return null;
    return next.toString();
  }

  /** Records a successful commit of `offset` (the value {@link committable} returned). */
  markCommitted(offset: string): void {
    const value = parseOffset(offset);
    if (this.committed === null || value > this.committed) this.committed = value;
  }

  /** Whether `offset` was tracked already (it is pending, or at or before the last tracked one). */
  hasTracked(offset: string): boolean {
    return this.lastTracked !== null && parseOffset(offset) <= this.lastTracked;
  }

  /** Messages tracked but not yet completed. */
  inFlight(): number {
    return this.pendingCount;
  }

  /** The lowest offset not yet completed, which holds the watermark back. */
  oldestPending(): string | null {
    // advance() keeps the head not-done, so the head is the oldest pending offset.
    return this.head < this.queue.length ? this.queue[this.head].offset.toString() : null;
  }

  /** How many messages have completed so far: unchanged, nothing has completed in between. */
  completedCount(): number {
    return this.completions;
  }

  /**
   * The messages completed past the lowest pending one, as `[first, last]` offset ranges in
   * increasing order (a range never spans a pending message), at most `maxRanges` of them: the
   * work a commit of the watermark alone would hand to the partition's next reader again.
   */
  finishedAhead(maxRanges: number): Array<[bigint, bigint]> {
    const ranges: Array<[bigint, bigint]> = [];
    // Everything queued from the head is pending or done; none done, nothing to walk.
    if (this.queue.length - this.head === this.pendingCount) return ranges;
    let open: [bigint, bigint] | null = null;
    for (let index = this.head; index < this.queue.length; index++) {
      const entry = this.queue[index];
      if (!entry.done) {
        open = null;
        continue;
      }
      if (open !== null) {
        open[1] = entry.offset;
        continue;
      }
      if (ranges.length === maxRanges) break;
      open = [entry.offset, entry.offset];
      ranges.push(open);
    }
    return ranges;
  }

  private advance(): void {
    while (this.head < this.queue.length && this.queue[this.head].done) {
      const entry = this.queue[this.head];
      this.byOffset.delete(entry.offset);
      this.lastCompleted = entry.offset;
      this.head++;
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
