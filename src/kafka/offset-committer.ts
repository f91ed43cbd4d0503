import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';
import { withTimeout } from '../common/with-timeout';
import { splitPartitionKey } from './partition-key';
import { markCommitted, offsetsToCommit, type PartitionOffset, type PartitionState } from './partition-state';

/** How long a handover waits for the commit of what finished on the partitions lost. */
const LOST_COMMIT_TIMEOUT_MS = 5_000;
/** How long a handover waits for a commit computed before it that kafkajs may still be retrying. */
const IN_FLIGHT_COMMIT_WAIT_MS = 10_000;

/** The offsets of one partition, as kafkajs reports a commit it sent (consumer.events.COMMIT_OFFSETS). */
export interface CommittedTopic {
  topic: string;
  partitions: ReadonlyArray<{ partition: number; offset: unknown }>;
}

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
  /** For each commit on its way, the offsets kafkajs has reported taken by the broker meanwhile. */
  private readonly confirming = new Set<Set<string>>();
  /** Commits on their way (commit(), not commitLost): a handover waits for them (settled). */
  private readonly sending = new Set<Promise<unknown>>();

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

  /**
   * kafkajs' COMMIT_OFFSETS: the broker took these offsets. Only what it reports is marked committed:
   * kafkajs resolves a commit it dropped unsent too (its runner stopping after a crash, README
   * decision 99), and a commit marked but never sent is not sent again until the watermark moves.
   */
  committed(topics: readonly CommittedTopic[]): void {
    if (this.confirming.size === 0) return;
    for (const { topic, partitions } of topics) {
      for (const { partition, offset } of partitions) {
        const key = offsetKey(topic, partition, String(offset));
        for (const confirmed of this.confirming) confirmed.add(key);
      }
    }
  }

  /**
   * Resolves once every commit sent before now has settled, or after `timeoutMs`. kafkajs retries a
   * commit with the generation current at the retry, so one computed before a rebalance can land
   * after it: a handover waits for it before its own commit and release (README decision 99).
   */
  async settled(timeoutMs = IN_FLIGHT_COMMIT_WAIT_MS): Promise<void> {
    if (this.sending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.sending]), timeout]);
    clearTimeout(timer);
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
      const sent = await withTimeout(
        this.send(consumer, offsets),
        timeoutMs,
        `no answer within ${timeoutMs} ms`,
      );
      const committed = sent.map(({ topic, partition, offset }) => ({ topic, partition, offset }));
      if (committed.length > 0) {
        this.logger.info(
          { consumer: this.host.name, committed },
          'committed what finished on the partitions lost',
        );
      }
      if (sent.length < offsets.length) {
        this.logger.warn(
          { consumer: this.host.name, unsent: offsets.length - sent.length },
          'kafkajs did not send the whole commit (it was stopping); their next owner handles those records again',
        );
      }
    } catch (error) {
      this.logger.warn(
        { consumer: this.host.name, err: error },
        'could not commit what finished on the partitions lost; their next owner handles it again',
      );
    }
  }

  /** Sends `offsets`; resolves with those kafkajs reported the broker took (see committed). */
  private async send(consumer: Consumer, offsets: PartitionOffset[]): Promise<PartitionOffset[]> {
    const confirmed = new Set<string>();
    this.confirming.add(confirmed);
    try {
      await consumer.commitOffsets(offsets);
    } finally {
      this.confirming.delete(confirmed);
    }
    return offsets.filter(({ topic, partition, offset }) =>
      confirmed.has(offsetKey(topic, partition, offset)),
    );
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
      const sending = this.send(consumer, offsets);
      this.sending.add(sending);
      const sent = await sending.finally(() => this.sending.delete(sending));
      // A new generation replaced the partitions' state meanwhile: those offsets are not its. What
      // kafkajs did not send stays unmarked, and the next commit sends it.
      if (generation === this.host.generation()) markCommitted(partitions, sent);
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

function offsetKey(topic: string, partition: number, offset: string): string {
  return `${topic}:${partition}@${offset}`;
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
