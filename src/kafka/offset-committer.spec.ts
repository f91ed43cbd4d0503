import type { Consumer } from 'kafkajs';
import pino from 'pino';
import { OffsetCommitter } from './offset-committer';
import { newPartitionState, type PartitionState } from './partition-state';

type Offsets = Array<{ topic: string; partition: number; offset: string }>;

/** As kafkajs reports a commit the broker took (consumer.events.COMMIT_OFFSETS), just before it resolves. */
function reportTaken(committer: OffsetCommitter, offsets: Offsets): void {
  committer.committed(
    offsets.map(({ topic, partition, offset }) => ({ topic, partitions: [{ partition, offset }] })),
  );
}

/** A consumer whose commits complete only when the test says so: sent, or dropped unsent. */
function harness() {
  const sent: string[][] = [];
  const finish: Array<(outcome: 'taken' | 'dropped') => void> = [];
  let generation = 1;
  const consumer = {
    commitOffsets: (offsets: Offsets) => {
      sent.push(offsets.map(({ offset }) => offset));
      return new Promise<void>((resolve) =>
        finish.push((outcome) => {
          if (outcome === 'taken') reportTaken(committer, offsets);
          resolve();
        }),
      );
    },
  } as unknown as Consumer;
  const state: PartitionState = newPartitionState(1);
  const partitions = new Map([['events:0', state]]);
  const committer = new OffsetCommitter(
    {
      name: 'test',
      consumer: () => consumer,
      partitions: () => partitions,
      generation: () => generation,
    },
    100,
    pino({ level: 'silent' }),
  );
  const handled = (offset: string) => {
    state.watermark.track(offset);
    state.watermark.complete(offset);
  };
  /**
   * Lets the commit in flight complete, and what it set off run. `dropped`: as kafkajs' runner does
   * while it stops after a crash: resolved, nothing sent, no COMMIT_OFFSETS (runner.js commitOffsets).
   */
  const complete = async (outcome: 'taken' | 'dropped' = 'taken') => {
    finish.shift()!(outcome);
    await new Promise((resolve) => setImmediate(resolve));
  };
  const rebalance = () => (generation += 1);
  return { sent, committer, handled, complete, state, rebalance };
}

describe('OffsetCommitter', () => {
  it('sends one commit at a time, and none when nothing moved', async () => {
    const { sent, committer, handled, complete } = harness();
    handled('0');
    const first = committer.commit();
    handled('1');
    void committer.commit();
    expect(sent).toEqual([['1']]);
    await complete();
    await first;

    const second = committer.commit();
    expect(sent).toEqual([['1'], ['2']]);
    await complete();
    await second;
    await committer.commit();
    expect(sent).toEqual([['1'], ['2']]);
  });

  it('commits again, once the commit on its way is done, when asked to as a rebalance begins', async () => {
    const { sent, committer, handled, complete, state } = harness();
    handled('0');
    void committer.commit();
    handled('1');
    void committer.commit({ again: true });
    void committer.commit({ again: true });
    await complete();
    expect(sent).toEqual([['1'], ['2']]);
    await complete();
    expect(state.committed).toBe(2n);
    expect(sent).toHaveLength(2);
  });

  it('sends the last commit at the stop even while another is on its way', () => {
    const { sent, committer, handled } = harness();
    handled('0');
    void committer.commit();
    handled('1');
    void committer.commit({ force: true });
    expect(sent).toEqual([['1'], ['2']]);
  });

  it('commits offsets alone once the broker refuses metadata that long', async () => {
    const sent: Array<Array<{ offset: string; metadata: string | null }>> = [];
    const refused = Object.assign(new Error('The metadata field of the offset request was too large'), {
      type: 'OFFSET_METADATA_TOO_LARGE',
    });
    const consumer = {
      commitOffsets: async (offsets: Array<Offsets[number] & { metadata: string | null }>) => {
        sent.push(offsets.map(({ offset, metadata }) => ({ offset, metadata })));
        // As kafkajs throws it: its retrier wraps the broker's error.
        if (sent.length === 1) throw Object.assign(new Error(refused.message), { cause: refused });
        reportTaken(committer, offsets);
      },
    } as unknown as Consumer;
    const state = newPartitionState(1);
    ['0', '1', '2'].forEach((offset) => state.watermark.track(offset));
    state.watermark.complete('0');
    state.watermark.complete('2');
    const committer = new OffsetCommitter(
      {
        name: 'test',
        consumer: () => consumer,
        partitions: () => new Map([['events:0', state]]),
        generation: () => 1,
      },
      100,
      pino({ level: 'silent' }),
    );

    await committer.commit();
    await new Promise((resolve) => setImmediate(resolve));

    expect(sent).toEqual([[{ offset: '1', metadata: 'hs1;1.1' }], [{ offset: '1', metadata: null }]]);
    expect(state.committed).toBe(1n);
  });

  it('sends again what kafkajs dropped unsent while stopping, rather than taking it as committed', async () => {
    const { sent, committer, handled, complete, state } = harness();
    handled('0');
    handled('1');
    void committer.commit();
    await complete('dropped');
    expect(state.committed).toBeNull();

    // Nothing finished since (a quiet partition): the next commit still sends offset 2.
    void committer.commit();
    await complete('taken');
    expect(sent).toEqual([['2'], ['2']]);
    expect(state.committed).toBe(2n);
    await committer.commit();
    expect(sent).toHaveLength(2);
  });

  it('lets a handover wait for a commit computed before the rebalance, and marks nothing of it', async () => {
    const { sent, committer, handled, complete, state, rebalance } = harness();
    handled('0');
    void committer.commit();
    // kafkajs retries it (NOT_COORDINATOR) while the rebalance completes.
    rebalance();
    let settled = false;
    const waiting = committer.settled().then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);

    await complete('taken');
    await waiting;
    expect(sent).toEqual([['1']]);
    // Landed with the new generation's id: not this generation's state's commit.
    expect(state.committed).toBeNull();
  });

  it('stops waiting for a commit in flight after the time given', async () => {
    const { committer, handled } = harness();
    handled('0');
    void committer.commit();
    await expect(committer.settled(10)).resolves.toBeUndefined();
  });

  it('waits a whole interval after a commit before a batch commits at once', async () => {
    const { committer, handled, complete } = harness();
    expect(committer.idleForAnInterval()).toBe(true);
    handled('0');
    void committer.commit();
    expect(committer.idleForAnInterval()).toBe(false);
    await complete();
  });

  describe('commitLost (decision 93)', () => {
    /** Partition 0 finished through offset 1 and partition 1 through 0, on a member that lost both. */
    function lostPartitions() {
      const lost = new Map([
        ['events:0', newPartitionState(1)],
        ['events.retry:0', newPartitionState(1)],
        ['events:1', newPartitionState(1)],
      ]);
      const finish = (key: string, offsets: string[]) =>
        offsets.forEach((offset) => {
          lost.get(key)!.watermark.track(offset);
          lost.get(key)!.watermark.complete(offset);
        });
      finish('events:0', ['0', '1']);
      finish('events.retry:0', ['4']);
      finish('events:1', ['0']);
      return lost;
    }

    function committerWith(
      commitOffsets: (offsets: Array<{ topic: string; offset: string }>) => Promise<void>,
    ) {
      const consumer = { commitOffsets } as unknown as Consumer;
      return new OffsetCommitter(
        { name: 'test', consumer: () => consumer, partitions: () => new Map(), generation: () => 2 },
        100,
        pino({ level: 'silent' }),
      );
    }

    it('commits what finished on the indexes released, of every topic, and nothing of the others', async () => {
      const sent: string[] = [];
      const committer = committerWith(async (offsets) => {
        sent.push(...offsets.map(({ topic, offset }) => `${topic}@${offset}`));
      });

      await committer.commitLost(lostPartitions(), [0]);

      expect(sent).toEqual(['events@2', 'events.retry@5']);
    });

    it('resolves when the broker refuses, and when it does not answer in time', async () => {
      const refused = committerWith(() => Promise.reject(new Error('ILLEGAL_GENERATION')));
      await expect(refused.commitLost(lostPartitions(), [0, 1])).resolves.toBeUndefined();

      const silent = committerWith(() => new Promise<void>(() => undefined));
      await expect(silent.commitLost(lostPartitions(), [1], 10)).resolves.toBeUndefined();
    });
  });
});
