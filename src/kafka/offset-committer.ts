import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';
import { withTimeout } from '../common/with-timeout';
import { splitPartitionKey } from './partition-key';
import { markCommitted, offsetsToCommit, type PartitionState } from './partition-state';

/** How long a handover waits for the commit of what finished on the partitions lost. */
const LOST_COMMIT_TIMEOUT_MS = 5_000;

/** What the committer reads of its WatermarkConsumer, each time it commits. */
export interface CommittedConsumer {
  name: string;
  consumer(): Consumer | undefined;
  partitions(): ReadonlyMap<string, PartitionState>;
  generation(): number;
}

/**
 * Commits a WatermarkConsumer's finished offsets (up to each partition's lowest unfinished record),
 * one commit at a time: on its timer, after a batch, at the start of a rebalance and at the stop.
 */
export class OffsetCommitter {
  private committing = false;
  /** A commit was asked for while one was on its way (at the start of a rebalance). */
  private again = false;
  /** When the last commit was sent: a batch commits at once only if none went out this interval. */
  private lastCommitAt = 0;
  private timer?: NodeJS.Timeout;
  /** Commits name what finished past their offset, until the broker refuses metadata that long. */
  private namesFinished = true;

  constructor(
    private readonly host: CommittedConsumer,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Commits every interval from now until stopTimer. */
  startTimer(): void {
    this.timer = setInterval(() => void this.commit(), this.intervalMs);
  }

  stopTimer(): void {
    clearInterval(this.timer);
  }

  /** Whether no commit went out in the last interval. */
  idleForAnInterval(): boolean {
    return Date.now() - this.lastCommitAt >= this.intervalMs;
  }

  /**
   * What finished on the lost partitions `indexes` (of `lost`, keyed `topic:partition`) after a
   * rebalance took them, committed before this member releases them to their next owner (README
   * decision 93), who reads the commit once it starts. Kafka's classic group protocol takes a commit
   * from any member of the current generation, whatever it is assigned. Resolves within `timeoutMs`
   * and never rejects: unanswered or refused, the next owner handles those records again.
   */
  async commitLost(
    lost: ReadonlyMap<string, PartitionState>,
    indexes: readonly number[],
    timeoutMs = LOST_COMMIT_TIMEOUT_MS,
  ): Promise<void> {
    const consumer = this.host.consumer();
    const released = new Map([...lost].filter(([key]) => indexes.includes(splitPartitionKey(key).partition)));
    const offsets = offsetsToCommit(released, this.namesFinished);
    if (!consumer || offsets.length === 0) return;
    try {
      await withTimeout(consumer.commitOffsets(offsets), timeoutMs, `no answer within ${timeoutMs} ms`);
      const committed = offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset }));
      this.logger.info(
        { consumer: this.host.name, committed },
        'committed what finished on the partitions lost',
      );
    } catch (error) {
      this.logger.warn(
        { consumer: this.host.name, err: error },
        'could not commit what finished on the partitions lost; their next owner handles it again',
      );
    }
  }

  /**
   * `again`: if a commit is on its way, another once it is done, with what has finished since.
   * `force`: send one even if another is on its way (the last one, at the stop).
   */
  async commit({ again = false, force = false } = {}): Promise<void> {
    const consumer = this.host.consumer();
    if (!consumer) return;
    if (this.committing && !force) {
      this.again ||= again;
      return;
    }
    this.committing = true;
    try {
      const partitions = this.host.partitions();
      const offsets = offsetsToCommit(partitions, this.namesFinished);
      if (offsets.length === 0) return;
      this.lastCommitAt = Date.now();
      const generation = this.host.generation();
      await consumer.commitOffsets(offsets);
      // A new generation replaced the partitions' state meanwhile: those offsets are not its.
      if (generation === this.host.generation()) markCommitted(partitions, offsets);
    } catch (error) {
      if (this.namesFinished && refusedMetadata(error)) {
        // The broker's offset.metadata.max.bytes is below what decision 92 needs: commit the offset alone.
        this.namesFinished = false;
        this.again = true;
        this.logger.warn(
          { consumer: this.host.name, err: error },
          'the broker refuses offset commit metadata this long; committing offsets alone from now on',
        );
        return;
      }
      // A commit lost to a rebalance is safe: the records are handled again by the new owner.
      this.logger.warn({ consumer: this.host.name, err: error }, 'offset commit failed; will retry');
    } finally {
      this.committing = false;
      if (this.again) {
        this.again = false;
        void this.commit();
      }
    }
  }
}

/** Kafka's OFFSET_METADATA_TOO_LARGE, as kafkajs throws it (wrapped, with the broker's error as its cause). */
function refusedMetadata(error: unknown): boolean {
  let cause: unknown = error;
  for (let depth = 0; depth < 4 && typeof cause === 'object' && cause !== null; depth++) {
    if ((cause as { type?: unknown }).type === 'OFFSET_METADATA_TOO_LARGE') return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}
