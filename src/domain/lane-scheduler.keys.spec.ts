import { LaneScheduler } from './lane-scheduler';

/** A task whose completion the test controls. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Queues a task of order key `key` in lane 'ep' that records its start and waits for its gate. */
function keyed(
  scheduler: LaneScheduler,
  concurrency: number,
  key: string | null,
  log: string[],
  name: string,
) {
  const g = gate();
  const done = scheduler.run(
    'ep',
    concurrency,
    async () => {
      log.push(name);
      await g.opened;
    },
    undefined,
    'tenant',
    () => false,
    key,
  );
  return { ...g, done };
}

describe('LaneScheduler order keys', () => {
  it('runs one key one task at a time, in submission order', async () => {
    const scheduler = new LaneScheduler(100);
    const log: string[] = [];
    const tasks = ['a1', 'a2', 'a3'].map((name) => keyed(scheduler, 8, 'a', log, name));
    await flush();
    expect(log).toEqual(['a1']);
    tasks[2].open(); // a3's own task being ready changes nothing: a1 and a2 come first
    await flush();
    expect(log).toEqual(['a1']);
    tasks[0].open();
    await flush();
    expect(log).toEqual(['a1', 'a2']);
    tasks[1].open();
    await Promise.all(tasks.map((t) => t.done));
    expect(log).toEqual(['a1', 'a2', 'a3']);
  });

  it('starts what a raised concurrency allows even when the task that raised it waits on its key', async () => {
    const scheduler = new LaneScheduler(100);
    const log: string[] = [];
    const a = keyed(scheduler, 2, 'x', log, 'a');
    const b = keyed(scheduler, 2, 'y', log, 'b');
    const d = keyed(scheduler, 2, 'z', log, 'd');
    await flush();
    expect(log).toEqual(['a', 'b']);
    const c = keyed(scheduler, 3, 'x', log, 'c'); // Behind a on key x; the lane may now run 3.
    await flush();
    expect(log).toEqual(['a', 'b', 'd']);
    for (const t of [a, b, c, d]) t.open();
    await Promise.all([a, b, c, d].map((t) => t.done));
    expect(log).toEqual(['a', 'b', 'd', 'c']);
  });

  it('runs the tasks queued at concurrency 1 one at a time after a raise, then widens', async () => {
    const scheduler = new LaneScheduler(100);
    const log: string[] = [];
    // A `none` endpoint at concurrency 1 asks for no keys (ordering-key.ts): r1 and r2 are one record's.
    const r1 = keyed(scheduler, 1, null, log, 'r1');
    const r2 = keyed(scheduler, 1, null, log, 'r2');
    await flush();
    const s1 = keyed(scheduler, 4, 's', log, 's1'); // Raised to 4: keys from here on.
    const t1 = keyed(scheduler, 4, 't', log, 't1');
    await flush();
    expect(log).toEqual(['r1']);
    expect(scheduler.isHanging('ep')).toBe(false);
    r1.open();
    await flush();
    expect(log).toEqual(['r1', 'r2']);
    r2.open();
    await flush();
    expect(log).toEqual(['r1', 'r2', 's1', 't1']);
    for (const t of [s1, t1]) t.open();
    await Promise.all([r1, r2, s1, t1].map((t) => t.done));
  });

  it('starts a task queued at concurrency 1 only when the tasks of a higher concurrency have ended', async () => {
    const scheduler = new LaneScheduler(100);
    const log: string[] = [];
    const a = keyed(scheduler, 2, 'a', log, 'a');
    const b = keyed(scheduler, 2, 'b', log, 'b');
    const c = keyed(scheduler, 1, null, log, 'c'); // Lowered to 1 while a and b run.
    await flush();
    expect(log).toEqual(['a', 'b']);
    a.open();
    await flush();
    expect(log).toEqual(['a', 'b']);
    b.open();
    await flush();
    expect(log).toEqual(['a', 'b', 'c']);
    c.open();
    await Promise.all([a, b, c].map((t) => t.done));
  });

  it('runs different keys in parallel, up to the lane concurrency', async () => {
    const scheduler = new LaneScheduler(100);
    const log: string[] = [];
    const tasks = ['a', 'b', 'c', 'd'].map((key) => keyed(scheduler, 3, key, log, key));
    await flush();
    expect(log).toEqual(['a', 'b', 'c']);
    expect(scheduler.inFlight()).toBe(3);
    expect(scheduler.laneDepth('ep')).toBe(4);
    tasks[1].open();
    await flush();
    expect(log).toEqual(['a', 'b', 'c', 'd']);
    for (const t of tasks) t.open();
    await Promise.all(tasks.map((t) => t.done));
  });

  it('lets other keys pass a key that waits on its running task', async () => {
    const scheduler = new LaneScheduler(100);
    const log: string[] = [];
    const a1 = keyed(scheduler, 2, 'a', log, 'a1');
    const a2 = keyed(scheduler, 2, 'a', log, 'a2');
    const b1 = keyed(scheduler, 2, 'b', log, 'b1');
    const b2 = keyed(scheduler, 2, 'b', log, 'b2');
    await flush();
    expect(log).toEqual(['a1', 'b1']);
    b1.open();
    await flush();
    expect(log).toEqual(['a1', 'b1', 'b2']);
    a1.open();
    b2.open();
    await flush();
    expect(log).toEqual(['a1', 'b1', 'b2', 'a2']);
    a2.open();
    await Promise.all([a1.done, a2.done, b1.done, b2.done]);
  });

  it('keeps keyless tasks free of any key', async () => {
    const scheduler = new LaneScheduler(100);
    const log: string[] = [];
    const tasks = [keyed(scheduler, 4, 'a', log, 'a1'), keyed(scheduler, 4, 'a', log, 'a2')];
    tasks.push(keyed(scheduler, 4, null, log, 'x1'), keyed(scheduler, 4, null, log, 'x2'));
    await flush();
    expect(log).toEqual(['a1', 'x1', 'x2']);
    for (const t of tasks) t.open();
    await Promise.all(tasks.map((t) => t.done));
    expect(log).toEqual(['a1', 'x1', 'x2', 'a2']);
  });

  it('keeps order per key over many keys and random task times', async () => {
    const scheduler = new LaneScheduler(100);
    const started = new Map<string, number[]>();
    let running = 0;
    let mostRunning = 0;
    const perKeyRunning = new Map<string, number>();
    let overlapPerKey = 0;
    const runs: Promise<void>[] = [];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 400; i++) {
      const key = `k${Math.floor(random() * 20)}`;
      const delay = Math.floor(random() * 3);
      runs.push(
        scheduler.run(
          'ep',
          6,
          async () => {
            running++;
            mostRunning = Math.max(mostRunning, running);
            perKeyRunning.set(key, (perKeyRunning.get(key) ?? 0) + 1);
            if (perKeyRunning.get(key)! > 1) overlapPerKey++;
            started.set(key, [...(started.get(key) ?? []), i]);
            for (let d = 0; d < delay; d++) await flush();
            perKeyRunning.set(key, perKeyRunning.get(key)! - 1);
            running--;
          },
          undefined,
          't',
          () => false,
          key,
        ),
      );
    }
    await Promise.all(runs);
    for (const order of started.values()) expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(overlapPerKey).toBe(0);
    expect(mostRunning).toBe(6);
  });

  it('sheds the tasks waiting behind a key when the lane stalls, keeping the head', async () => {
    let nowMs = 0;
    const scheduler = new LaneScheduler(100, { stallAfterMs: 1000, now: () => nowMs });
    const hang = gate();
    const shed: string[] = [];
    const run = (name: string) =>
      scheduler.run(
        'ep',
        4,
        () => hang.opened,
        async () => void shed.push(name),
        'tenant',
        () => false,
        'hot',
      );
    const first = run('h1');
    const rest = ['h2', 'h3', 'h4'].map(run);
    await flush();
    expect(scheduler.isHanging('ep')).toBe(false);
    nowMs = 1000;
    expect(scheduler.isHanging('ep')).toBe(true);
    expect(scheduler.shedStalled()).toBe(3);
    await Promise.all(rest);
    expect(shed).toEqual(['h2', 'h3', 'h4']);
    expect(scheduler.queued()).toBe(0);
    hang.open();
    await first;
  });

  it('never sheds a strict task waiting behind its key, and skips a withdrawn one', async () => {
    let nowMs = 0;
    const scheduler = new LaneScheduler(100, { stallAfterMs: 1000, now: () => nowMs });
    const hang = gate();
    const log: string[] = [];
    let moved = false;
    const first = scheduler.run(
      'ep',
      4,
      () => hang.opened,
      undefined,
      't',
      () => false,
      'k',
    );
    const kept = scheduler.run(
      'ep',
      4,
      async () => void log.push('kept'),
      undefined,
      't',
      () => false,
      'k',
    );
    const withdrawn = scheduler.run(
      'ep',
      4,
      async () => void log.push('moved'),
      undefined,
      't',
      () => moved,
      'k',
    );
    await flush();
    nowMs = 5000;
    expect(scheduler.shedStalled()).toBe(0);
    moved = true;
    expect(scheduler.dropWithdrawn()).toBe(1);
    await expect(withdrawn).rejects.toThrow();
    hang.open();
    await Promise.all([first, kept]);
    expect(log).toEqual(['kept']);
    expect(scheduler.laneDepth('ep')).toBe(0);
  });
});
