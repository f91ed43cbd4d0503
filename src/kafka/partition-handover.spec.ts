import type { Consumer } from 'kafkajs';
import pino from 'pino';
import type { PartitionHandover } from './consumer-spec';
import { handOver, SwitchablePartitionHandover, type HandOverInput } from './partition-handover';

describe('handOver of the partitions lost (decision 93)', () => {
  const consumer = { pause: () => undefined, resume: () => undefined } as unknown as Consumer;
  /** Promise continuations all run before the next macrotask. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  /** A handover noting each step, and handOver's other inputs for one member. */
  function member(steps: string[]) {
    const handover: PartitionHandover = {
      acquire: async (indexes) => {
        steps.push(`acquire ${indexes.join()}`);
      },
      release: async (indexes, beforeRelease) => {
        await beforeRelease?.(indexes);
        steps.push(`release ${indexes.join()}`);
      },
    };
    let owned: number[] = [];
    const releasing = new Map<number, Promise<void>>();
    const input = (before: number[], now: number[], lostWork: Array<Promise<void>>): HandOverInput => {
      owned = now;
      return {
        handover,
        consumer,
        topics: ['deliveries'],
        before,
        now,
        lostWork,
        commitLost: async (indexes) => {
          steps.push(`commit ${indexes.join()}`);
        },
        handingOver: new Map(),
        releasing,
        commitsSettled: () => Promise.resolve(),
        acquired: () => steps.push('start'),
        ownedNow: (index) => owned.includes(index),
        stopping: () => false,
        logger: pino({ level: 'silent' }),
      };
    };
    return { input, releasing };
  }

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
      now: [0],
      lostWork: [running],
      commitLost: async (indexes) => {
        steps.push(`commit ${indexes.join()}`);
      },
      handingOver: new Map(),
      releasing: new Map(),
      commitsSettled: () => Promise.resolve(),
      ownedNow: (index) => index === 0,
      stopping: () => false,
      logger: pino({ level: 'silent' }),
    });
    await settle();
    expect(steps).toEqual([]);

    finish();
    await settle();
    // The handover's own check (3: taken by its next owner without waiting) leaves 1 and 2 to commit.
    expect(steps).toEqual(['commit 1,2', 'release 1,2,3']);
  });

  it('waits for a commit kafkajs may still be retrying before it commits and releases (decision 99)', async () => {
    const steps: string[] = [];
    const { input } = member(steps);
    let commitLanded: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => (commitLanded = resolve));
    handOver({ ...input([0, 1], [0], []), commitsSettled: () => inFlight });
    await settle();
    expect(steps).toEqual([]);

    commitLanded();
    await settle();
    expect(steps).toEqual(['commit 1', 'release 1']);
  });

  it('starts an index gained back only after its own records from before are finished, committed and released', async () => {
    // A crash gives up every index (decision 99); the join after the restart gains them back.
    const steps: string[] = [];
    const { input, releasing } = member(steps);
    let finish: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (finish = resolve));
    handOver(input([0, 1], [], [running]));
    handOver(input([], [0, 1], []));
    await settle();
    expect(steps).toEqual([]);

    finish();
    await settle();
    expect(steps).toEqual(['commit 0,1', 'release 0,1', 'acquire 0,1', 'start']);
    expect(releasing.size).toBe(0);
  });

  it('releases an index lost again only after its earlier release', async () => {
    const steps: string[] = [];
    const { input } = member(steps);
    let finish: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (finish = resolve));
    handOver(input([0], [], [running]));
    handOver(input([], [0], []));
    // Lost again before it started: nothing of this generation runs there, but the first one's work does.
    handOver(input([0], [], []));
    await settle();
    expect(steps).toEqual([]);

    finish();
    await settle();
    expect(steps.slice(0, 2)).toEqual(['commit 0', 'release 0']);
  });

  it('starts an index lost and gained back twice only at its last gain, never released while in use', async () => {
    // Review 6, F2: 3 is lost (release R1, held open), gained back (A2 waits for R1), lost again
    // (R2 waits for R1) and gained back again (A4 waits for R2). Only A4 may start 3, after R2.
    const steps: string[] = [];
    let owned = [3];
    let resumed = true;
    const working = () => owned.includes(3) && resumed;
    const consumer = {
      pause: () => {
        resumed = false;
      },
      resume: () => {
        resumed = true;
        steps.push('resume 3');
      },
    } as unknown as Consumer;
    const releases: Array<() => void> = [];
    const handover: PartitionHandover = {
      acquire: async (indexes, stillOwned) => {
        const claimed = indexes.filter(stillOwned);
        if (claimed.length > 0) steps.push(`acquire ${claimed.join()}`);
      },
      release: async (indexes) => {
        await new Promise<void>((resolve) => releases.push(resolve));
        steps.push(`release ${indexes.join()}${working() ? ' while in use' : ''}`);
      },
    };
    const handingOver = new Map<number, symbol>();
    const releasing = new Map<number, Promise<void>>();
    const rebalance = (before: number[], now: number[]) => {
      owned = now;
      handOver({
        handover,
        consumer,
        topics: ['deliveries'],
        before,
        now,
        lostWork: [],
        commitLost: () => Promise.resolve(),
        handingOver,
        releasing,
        commitsSettled: () => Promise.resolve(),
        ownedNow: (index) => owned.includes(index),
        stopping: () => false,
        logger: pino({ level: 'silent' }),
      });
    };

    rebalance([3], []);
    rebalance([], [3]);
    rebalance([3], []);
    rebalance([], [3]);
    await settle();
    expect(releases).toHaveLength(1);
    releases[0]();
    await settle();
    expect(releases).toHaveLength(2);
    releases[1]();
    await settle();
    expect(steps).toEqual(['release 3', 'release 3', 'acquire 3', 'resume 3']);
    expect(handingOver.size).toBe(0);
    expect(releasing.size).toBe(0);
  });

  it('commits every lost index when no handover is attached (one process)', async () => {
    const committed: number[][] = [];
    await new SwitchablePartitionHandover().release([4, 5], async (held) => {
      committed.push(held);
    });
    expect(committed).toEqual([[4, 5]]);
  });
});
