import { LaneScheduler } from './lane-scheduler';
import { RecordWithdrawn } from './records';

const flush = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Slots go to lanes and tenants already waiting before the lane whose task freed one (review 7 F1):
 * a lane with a backlog does not keep the global or tenant slot it frees.
 */
describe('LaneScheduler, turns for a freed slot', () => {
  /** Queues `count` tasks in lane `key` of `group`, each logging its lane and ending a tick later. */
  function busy(scheduler: LaneScheduler, log: string[], key: string, count: number, group?: string) {
    return Array.from({ length: count }, () =>
      scheduler.run(
        key,
        1,
        async () => {
          log.push(key);
          await flush();
        },
        undefined,
        group,
      ),
    );
  }

  it('gives a freed global slot to a lane already waiting before the lane that freed it', async () => {
    const scheduler = new LaneScheduler(1);
    const log: string[] = [];
    const runs = [...busy(scheduler, log, 'a', 3), ...busy(scheduler, log, 'b', 1)];
    await Promise.all(runs);
    expect(log).toEqual(['a', 'b', 'a', 'a']);
  });

  it("gives a freed tenant slot to the tenant's lane already waiting", async () => {
    const scheduler = new LaneScheduler(10, { stallAfterMs: Number.POSITIVE_INFINITY, groupLimit: 1 });
    const log: string[] = [];
    const runs = [...busy(scheduler, log, 'a', 3, 'tenant'), ...busy(scheduler, log, 'b', 1, 'tenant')];
    await Promise.all(runs);
    expect(log).toEqual(['a', 'b', 'a', 'a']);
  });

  it("starts a quiet tenant's delivery within a round while four tenants hold every slot with backlogs", async () => {
    // The defaults' 512 : 128 scaled down: global 4, tenant limit 1.
    const scheduler = new LaneScheduler(4, { stallAfterMs: 1_000, groupLimit: 1 });
    const log: string[] = [];
    const runs: Array<Promise<void>> = [];
    for (const tenant of ['A', 'B', 'C', 'D']) runs.push(...busy(scheduler, log, tenant, 50, tenant));
    runs.push(...busy(scheduler, log, 'E', 1, 'E'));
    await Promise.all(runs);
    // The four first, then E at the first slot any of them frees (not after all 200).
    expect(log.indexOf('E')).toBe(4);
  });

  it("starts another tenant's delivery before a tenant's backlog on two endpoints", async () => {
    const scheduler = new LaneScheduler(2, { stallAfterMs: 1_000, groupLimit: 128 });
    const log: string[] = [];
    const runs = [...busy(scheduler, log, 'a1', 50, 'A'), ...busy(scheduler, log, 'a2', 50, 'A')];
    runs.push(...busy(scheduler, log, 'b1', 1, 'B'));
    await Promise.all(runs);
    expect(log.indexOf('b1')).toBe(2);
  });

  it("starts a tenant's waiting endpoint before another endpoint's backlog of the same tenant", async () => {
    const scheduler = new LaneScheduler(100, { stallAfterMs: 1_000, groupLimit: 1 });
    const log: string[] = [];
    const runs = [...busy(scheduler, log, 'a1', 50, 'A'), ...busy(scheduler, log, 'a2', 1, 'A')];
    await Promise.all(runs);
    expect(log.indexOf('a2')).toBe(1);
  });

  it('takes tenants in turn for the global slot, not lanes: three endpoints of one tenant get one turn', async () => {
    const scheduler = new LaneScheduler(1);
    const log: string[] = [];
    const runs = [
      ...busy(scheduler, log, 'a1', 2, 'A'),
      ...busy(scheduler, log, 'a2', 2, 'A'),
      ...busy(scheduler, log, 'a3', 2, 'A'),
      ...busy(scheduler, log, 'b1', 6, 'B'),
    ];
    await Promise.all(runs);
    // a1 starts at once; tenant A asked for the next slot (for a2) before B did.
    expect(log).toEqual(['a1', 'a2', 'b1', 'a3', 'b1', 'a1', 'b1', 'a2', 'b1', 'a3', 'b1', 'b1']);
  });

  it('keeps a lane to its concurrency and the global limit while taking turns', async () => {
    const scheduler = new LaneScheduler(3, { stallAfterMs: Number.POSITIVE_INFINITY, groupLimit: 2 });
    let running = 0;
    let peak = 0;
    const perGroup = new Map<string, number>();
    let groupPeak = 0;
    const tasks = Array.from({ length: 120 }, (_, i) => {
      const group = `t${i % 3}`;
      return scheduler.run(
        `lane-${i % 6}`,
        2,
        async () => {
          running += 1;
          perGroup.set(group, (perGroup.get(group) ?? 0) + 1);
          peak = Math.max(peak, running);
          groupPeak = Math.max(groupPeak, perGroup.get(group)!);
          await flush();
          perGroup.set(group, perGroup.get(group)! - 1);
          running -= 1;
        },
        undefined,
        group,
      );
    });
    await Promise.all(tasks);
    expect(peak).toBe(3);
    expect(groupPeak).toBeLessThanOrEqual(2);
    expect(scheduler.inFlight()).toBe(0);
    expect(scheduler.laneCount()).toBe(0);
  });

  it('forgets a lane emptied while it waited for a global slot (review 7 F7)', async () => {
    const scheduler = new LaneScheduler(1, { stallAfterMs: 1_000 });
    let open!: () => void;
    const held = scheduler.run(
      'a',
      1,
      () => new Promise<void>((resolve) => (open = resolve)),
      undefined,
      't',
    );
    let withdrawn = false;
    const waiting = scheduler.run(
      'b',
      1,
      async () => {},
      undefined,
      't2',
      () => withdrawn,
      null,
    );
    withdrawn = true;
    expect(scheduler.dropWithdrawn()).toBe(1);
    await expect(waiting).rejects.toBeInstanceOf(RecordWithdrawn);
    open();
    await held;
    await flush();
    expect(scheduler.laneDepth('b')).toBe(0);
    expect(scheduler.laneCount()).toBe(0);
  });
});
