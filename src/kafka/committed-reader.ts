import type { Logger } from 'pino';
import { withTimeout } from '../common/with-timeout';
import type { CommittedOffset } from './consumer-spec';
import { FinishedElsewhere } from './finished-offsets';

/** How long the first batch of a partition waits for the read; it holds that partition alone. */
const READ_TIMEOUT_MS = 5_000;

/**
 * What the previous readers of a new assignment's partitions finished, from the group's committed
 * offsets and their metadata (README decision 92): read the first time a partition of the
 * assignment is read, once per topic and generation. Without a way to read them, or without an
 * answer within the timeout (the broker away), nothing is known finished, and every record is
 * handled as before.
 */
export class CommittedReader {
  private readonly reads = new Map<string, Promise<Map<number, FinishedElsewhere>>>();

  constructor(
    private readonly committedOffsets: ((topic: string) => Promise<CommittedOffset[]>) | undefined,
    private readonly logger: Logger,
    private readonly timeoutMs = READ_TIMEOUT_MS,
  ) {}

  async finished(generation: number, topic: string, partition: number): Promise<FinishedElsewhere> {
    const key = `${generation}:${topic}`;
    let read = this.reads.get(key);
    if (!read) {
      // An earlier generation's reads are not needed again.
      for (const earlier of this.reads.keys()) {
        if (!earlier.startsWith(`${generation}:`)) this.reads.delete(earlier);
      }
      read = this.read(topic);
      this.reads.set(key, read);
    }
    return (await read).get(partition) ?? FinishedElsewhere.none;
  }

  /**
   * The reads so far may miss commits made since: a gained partition's handover completed, so its
   * previous owner has just committed what it finished there (decision 93). A read of the same
   * generation made before, for a partition that was never handed over, would not show it.
   */
  forgetReads(): void {
    this.reads.clear();
  }

  private async read(topic: string): Promise<Map<number, FinishedElsewhere>> {
    const byPartition = new Map<number, FinishedElsewhere>();
    if (!this.committedOffsets) return byPartition;
    try {
      const committed = await withTimeout(
        this.committedOffsets(topic),
        this.timeoutMs,
        `no answer within ${this.timeoutMs} ms`,
      );
      for (const { partition, offset, metadata } of committed) {
        byPartition.set(partition, FinishedElsewhere.fromCommit(offset, metadata));
      }
    } catch (error) {
      this.logger.warn(
        { err: error, topic },
        'could not read the committed offsets; records finished past them are handled again',
      );
    }
    return byPartition;
  }
}
