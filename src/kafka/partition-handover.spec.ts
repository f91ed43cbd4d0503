import type { Consumer } from 'kafkajs';
import pino from 'pino';
import type { PartitionHandover } from './consumer-spec';
import { handOver, SwitchablePartitionHandover } from './partition-handover';

describe('handOver of the partitions lost (decision 93)', () => {
  const consumer = { pause: () => undefined, resume: () => undefined } as unknown as Consumer;

  it('commits what finished on the lost indexes once their work settles, then releases them', async () => {
    const steps: string[] = [];
    let finish: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (finish = resolve));
    const handover: PartitionHandover = {
      acquire: () => Promise.resolve(),
      release: async (indexes, beforeRelease) => {
        await beforeRelease?.(indexes.filter((index) => index !== 3));
        steps.push(`release ${indexes.join()}`);
      },
    };

    handOver({
      handover,
      consumer,
      topics: ['deliveries'],
      before: [0, 1, 2, 3],
      // 1 was given back by a later rebalance meanwhile: this member works on it again.
      now: [0],
      lostWork: [running],
      commitLost: async (indexes) => {
        steps.push(`commit ${indexes.join()}`);
      },
      handingOver: new Set(),
      ownedNow: (index) => index === 0 || index === 1,
      stopping: () => false,
      logger: pino({ level: 'silent' }),
    });
    // Promise continuations all run before the next macrotask.
    await new Promise((resolve) => setImmediate(resolve));
    expect(steps).toEqual([]);

    finish();
    await new Promise((resolve) => setImmediate(resolve));
    // The handover's own check (3: taken by its next owner without waiting) leaves 2 to commit.
    expect(steps).toEqual(['commit 2', 'release 2,3']);
  });

  it('commits every lost index when no handover is attached (one process)', async () => {
    const committed: number[][] = [];
    await new SwitchablePartitionHandover().release([4, 5], async (held) => {
      committed.push(held);
    });
    expect(committed).toEqual([[4, 5]]);
  });
});
