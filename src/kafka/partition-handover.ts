import { Injectable } from '@nestjs/common';
import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';
import type { PartitionHandover } from './consumer-spec';
import { setPaused } from './kafkajs-pauses';

/** Inject to reach the handover the delivery consumer uses, or to `attach` the real one at startup. */
export const PARTITION_HANDOVER = Symbol('PARTITION_HANDOVER');

/**
 * Until a module above attaches how partitions are handed over (the delivery module, which keeps
 * ownership in PostgreSQL: src/delivery/partition-owners.ts), a gained partition starts at once and
 * a lost one is released to nobody: right for a single process.
 */
@Injectable()
export class SwitchablePartitionHandover implements PartitionHandover {
  private source: PartitionHandover | null = null;

  attach(source: PartitionHandover | null): void {
    this.source = source;
  }

  acquire(indexes: number[], stillOwned: (index: number) => boolean): Promise<void> {
    return this.source ? this.source.acquire(indexes, stillOwned) : Promise.resolve();
  }

  async release(indexes: number[], beforeRelease?: (held: number[]) => Promise<void>): Promise<void> {
    if (this.source) return this.source.release(indexes, beforeRelease);
    await beforeRelease?.(indexes);
  }
}

export interface HandOverInput {
  handover: PartitionHandover;
  consumer: Consumer;
  topics: string[];
  /** The member's partition indexes before the rebalance and after it. */
  before: number[];
  now: number[];
  /** Work still running on the partitions it lost. */
  lostWork: Array<Promise<void>>;
  /** Commits what finished on the lost partitions `indexes`, just before their release; never rejects (decision 93). */
  commitLost: (indexes: number[]) => Promise<void>;
  /**
   * The indexes paused until their handover completes, each with its latest gain's token: added here,
   * removed once that gain completes. An earlier gain of an index gained back since leaves it alone.
   */
  handingOver: Map<number, symbol>;
  /**
   * This member's releases of indexes it lost, until each is done: added here, removed once it is.
   * A gained index waits for its own, as its records from before may still be running (decision 99).
   */
  releasing: Map<number, Promise<void>>;
  /** Resolves once the commits sent before now have settled (kafkajs may be retrying one: decision 99). */
  commitsSettled: () => Promise<void>;
  /** The gained indexes' previous owners have committed and released them; called before they start. */
  acquired?: () => void;
  /** Whether the member owns `index` now (a later rebalance may have moved it again): for the gained. */
  ownedNow: (index: number) => boolean;
  stopping: () => boolean;
  logger: Logger;
}

/**
 * After a rebalance of a co-partitioned consumer (or a crash, which leaves the group: decision 99):
 * pauses the indexes gained until the handover allows them, then starts those still owned and gives
 * back those a later rebalance took away; releases the lost ones once their work has finished and
 * is committed, so that their next owner starts past it (decision 93). An index lost and gained back
 * before its release is released and acquired again, so its new reading starts past that work too.
 */
export function handOver(input: HandOverInput): void {
  const { handover, consumer, topics, before, now, lostWork, handingOver, releasing, logger } = input;
  const gained = now.filter((index) => !before.includes(index));
  const lost = before.filter((index) => !now.includes(index));
  if (gained.length > 0) {
    setPaused(
      consumer,
      topics.map((topic) => ({ topic, partitions: gained })),
      true,
    );
    const token = Symbol('gain');
    for (const index of gained) handingOver.set(index, token);
    // An index lost and gained back again meanwhile is the later gain's to start or give back: that
    // one waits for the release in between, which would otherwise mark it released while in use.
    const latest = (index: number) => handingOver.get(index) === token;
    const owned = (index: number) => input.ownedNow(index) && !input.stopping();
    const ownReleases = gained.flatMap((index) => releasing.get(index) ?? []);
    void Promise.all(ownReleases)
      .then(() => handover.acquire(gained, (index) => latest(index) && owned(index)))
      .catch((error: unknown) => logger.warn({ err: error, gained }, 'handover failed; starting anyway'))
      .then(() => {
        input.acquired?.();
        const mine = gained.filter(latest);
        for (const index of mine) handingOver.delete(index);
        // A later rebalance may have taken some away meanwhile: start the rest, give those back.
        const kept = mine.filter(owned);
        if (kept.length > 0)
          setPaused(
            consumer,
            topics.map((topic) => ({ topic, partitions: kept })),
            false,
          );
        const gone = mine.filter((index) => !owned(index));
        if (gone.length > 0) return handover.release(gone);
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'could not release partitions'));
  }
  if (lost.length > 0) {
    // After an earlier release of the same index (lost, gained back and lost again before it was done).
    const earlier = lost.flatMap((index) => releasing.get(index) ?? []);
    const released = Promise.allSettled([...lostWork, ...earlier])
      .then(() => input.commitsSettled())
      .then(() => handover.release(lost, input.commitLost))
      .catch((error: unknown) => logger.warn({ err: error, lost }, 'could not release partitions'));
    for (const index of lost) releasing.set(index, released);
    void released.then(() => {
      for (const index of lost) if (releasing.get(index) === released) releasing.delete(index);
    });
  }
}
