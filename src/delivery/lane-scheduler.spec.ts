import { LaneScheduler } from './lane-scheduler';

/** A task whose completion the test controls. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('LaneScheduler', () => {
  it('runs one lane serially in submission order', async () => {
    const scheduler = new LaneScheduler(10);
    const log: string[] = [];
    const gates = [gate(), gate(), gate()];
    const runs = gates.map((g, i) =>
      scheduler.run('a', 1, async () => {
        log.push(`start ${i}`);
        await g.opened;
        log.push(`end ${i}`);
      }),
    );
    await flush();
    expect(log).toEqual(['start 0']);
    gates[1].open();
    gates[0].open();
    await flush();
    gates[2].open();
    await Promise.all(runs);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('lets other lanes go on while one lane is stuck', async () => {
    const scheduler = new LaneScheduler(10);
    const stuck = gate();
    void scheduler.run('dead', 1, () => stuck.opened);
    void scheduler.run('dead', 1, () => stuck.opened);
    const done: string[] = [];
    await Promise.all(['b', 'c', 'd'].map((key) => scheduler.run(key, 1, async () => void done.push(key))));
    expect(done).toEqual(['b', 'c', 'd']);
    expect(scheduler.laneDepth('dead')).toBe(2);
    stuck.open();
  });

  it('never exceeds a lane concurrency or the global limit', async () => {
    const scheduler = new LaneScheduler(3);
    let running = 0;
    let peak = 0;
    const perLane = new Map<string, number>();
    let lanePeak = 0;
    const tasks = Array.from({ length: 60 }, (_, i) => {
      const key = `lane-${i % 4}`;
      return scheduler.run(key, 2, async () => {
        running += 1;
        perLane.set(key, (perLane.get(key) ?? 0) + 1);
        peak = Math.max(peak, running);
        lanePeak = Math.max(lanePeak, perLane.get(key)!);
        await flush();
        perLane.set(key, perLane.get(key)! - 1);
        running -= 1;
      });
    });
    await Promise.all(tasks);
    expect(peak).toBe(3);
    expect(lanePeak).toBeLessThanOrEqual(2);
    expect(scheduler.inFlight()).toBe(0);
  });

  it('a waiting lane holds no global slot: a full scheduler still serves lanes in arrival order', async () => {
    const scheduler = new LaneScheduler(1);
    const first = gate();
    const order: string[] = [];
    const a = scheduler.run('a', 1, async () => {
      order.push('a');
      await first.opened;
    });
    const b = scheduler.run('b', 1, async () => void order.push('b'));
    const c = scheduler.run('c', 1, async () => void order.push('c'));
    await flush();
    expect(order).toEqual(['a']);
    first.open();
    await Promise.all([a, b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('passes a task rejection to its caller and keeps the lane going', async () => {
    const scheduler = new LaneScheduler(2);
    await expect(scheduler.run('x', 1, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(scheduler.run('x', 1, async () => 7)).resolves.toBe(7);
  });
});
