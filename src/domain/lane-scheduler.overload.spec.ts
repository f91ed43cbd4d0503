import { LaneScheduler } from './lane-scheduler';

/** A task whose completion the test controls. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Overloaded lanes: the endpoint answers, slowly, so the lane starts a task each time one ends and
 * is never stalled, yet its queue would grow for as long as its traffic lasts (README decision 15).
 */
describe('LaneScheduler, an overloaded lane', () => {
  function world(options: { groupLimit?: number } = {}) {
    const clock = { now: 0 };
    const scheduler = new LaneScheduler(100, { stallAfterMs: 1_000, now: () => clock.now, ...options });
    const gates: Array<ReturnType<typeof gate>> = [];
    const shed: number[] = [];
    const submit = (key: string, concurrency: number, n: number, group?: string) => {
      const g = gate();
      gates[n] = g;
      return scheduler.run(
        key,
        concurrency,
        () => g.opened.then(() => `ran ${n}`),
        async () => {
          shed.push(n);
          return `shed ${n}`;
        },
        group,
      );
    };
    return { clock, scheduler, gates, shed, submit };
  }

  it('keeps what its slots start within stallAfterMs at its pace and sheds the rest', async () => {
    const { clock, scheduler, gates, shed, submit } = world();
    // Two slots, twelve deliveries; each answer takes 1.5 s.
    for (let n = 0; n < 12; n++) void submit('slow', 2, n);
    await flush();
    expect(scheduler.shedStalled()).toBe(0);
    clock.now += 1_500;
    gates[0].open();
    gates[1].open();
    await flush();
    // Two new tasks have just started: the lane is not stalled, but at 1.5 s a task its two slots
    // start one more within a second; the other seven would wait longer.
    expect(scheduler.isHanging('slow')).toBe(false);
    expect(scheduler.shedStalled()).toBe(7);
    expect(shed).toEqual([5, 6, 7, 8, 9, 10, 11]);
    expect(scheduler.laneDepth('slow')).toBe(3);
    // It takes no more: a new delivery is shed at once, and it counts as saturated.
    expect(scheduler.isSaturated('slow')).toBe(true);
    expect(scheduler.headroom('slow')).toBe(0);
    expect(scheduler.room('slow')).toBe(0);
    await expect(submit('slow', 2, 12)).resolves.toBe('shed 12');
    // One ends: its slot goes to the one queued, and live traffic may queue one again.
    gates[2].open();
    await flush();
    expect(scheduler.laneDepth('slow')).toBe(2);
    expect(scheduler.room('slow')).toBe(1);
    for (const n of [3, 4]) gates[n].open();
  });

  it('never sheds a burst queued behind fast tasks, however long the oldest has waited', async () => {
    const { clock, scheduler, gates, shed, submit } = world();
    const runs = Array.from({ length: 300 }, (_, n) => submit('fast', 1, n));
    await flush();
    for (let n = 0; n < 150; n++) {
      clock.now += 20;
      gates[n].open();
      await flush();
      expect(scheduler.shedStalled()).toBe(0);
    }
    // The head of the queue has waited 3 s, far past stallAfterMs, yet the lane is draining.
    expect(scheduler.isSaturated('fast')).toBe(false);
    expect(scheduler.headroom('fast')).toBe(Number.POSITIVE_INFINITY);
    expect(scheduler.room('fast')).toBe(Number.POSITIVE_INFINITY);
    for (let n = 150; n < 300; n++) gates[n].open();
    await Promise.all(runs);
    expect(shed).toEqual([]);
  });

  it('remembers the pace of a slow lane that went idle, so a backlog handed back meets it at once', async () => {
    const { clock, scheduler, gates, shed, submit } = world();
    const first = [submit('slow', 2, 0), submit('slow', 2, 1)];
    clock.now += 2_000;
    gates[0].open();
    gates[1].open();
    await Promise.all(first);
    await flush();
    expect(scheduler.laneDepth('slow')).toBe(0);
    // Two slots at 2 s a task: two running and one queued is all it takes without shedding.
    expect(scheduler.headroom('slow')).toBe(3);
    expect(scheduler.room('slow')).toBe(3);
    const again = [2, 3, 4, 5].map((n) => submit('slow', 2, n));
    await flush();
    expect(shed).toEqual([5]);
    expect(scheduler.laneDepth('slow')).toBe(3);
    // Something queued: its own traffic takes every slot it frees, so nothing more is handed back.
    expect(scheduler.headroom('slow')).toBe(0);
    gates[2].open();
    await flush();
    expect(scheduler.laneDepth('slow')).toBe(2);
    // Nothing queued: one may wait behind the two running.
    expect(scheduler.headroom('slow')).toBe(1);
    for (const n of [3, 4]) gates[n].open();
    await Promise.all(again);
    // Forgotten after a minute without traffic.
    clock.now += 60_000;
    scheduler.shedStalled();
    expect(scheduler.headroom('slow')).toBe(Number.POSITIVE_INFINITY);
  });

  it('takes nothing back while every slot is busy and none of its tasks has ended, or they overrun', async () => {
    const { clock, scheduler, gates, submit } = world();
    // A new endpoint that hangs from its first request: no pace known yet.
    const running = [0, 1].map((n) => submit('new', 2, n));
    await flush();
    expect(scheduler.headroom('new')).toBe(0);
    clock.now += 10;
    gates[0].open();
    await flush();
    // A slot is free and its tasks take 10 ms: a fast lane.
    expect(scheduler.headroom('new')).toBe(Number.POSITIVE_INFINITY);
    void submit('new', 2, 2);
    await flush();
    // Both slots busy again, within its pace: still fast.
    expect(scheduler.headroom('new')).toBe(Number.POSITIVE_INFINITY);
    // Nothing has started for longer than its tasks take: it may have begun to hang.
    clock.now += 50;
    expect(scheduler.headroom('new')).toBe(0);
    gates[1].open();
    gates[2].open();
    await Promise.all(running);
  });

  it('takes back only what the slots its tenant leaves it can start, not its maxConcurrency', async () => {
    const { clock, scheduler, gates, submit } = world({ groupLimit: 4 });
    // A slow lane (2 s a task) that ran four at once, then went idle.
    const first = [0, 1, 2, 3].map((n) => submit('slow', 100, n, 'noisy'));
    clock.now += 2_000;
    for (const n of [0, 1, 2, 3]) gates[n].open();
    await Promise.all(first);
    await flush();
    // Its tenant's four slots free: four start now and two more within a second at that pace.
    expect(scheduler.headroom('slow')).toBe(6);
    expect(scheduler.room('slow')).toBe(6);
    // The tenant's hanging endpoint takes three of the four: the slow lane can start one.
    const hang = gate();
    for (let i = 0; i < 3; i++) void scheduler.run('hang', 100, () => hang.opened, undefined, 'noisy');
    await flush();
    expect(scheduler.headroom('slow')).toBe(2);
    expect(scheduler.room('slow')).toBe(2);
    // All four: what is handed back would wait for the group, stall and be shed again.
    void scheduler.run('hang', 100, () => hang.opened, undefined, 'noisy');
    await flush();
    expect(scheduler.headroom('slow')).toBe(1);
    expect(scheduler.room('slow')).toBe(1);
    hang.open();
    await flush();
    await flush();
    expect(scheduler.headroom('slow')).toBe(6);
  });

  it('counts the slots its tenant leaves it, not its maxConcurrency, when its group is full', async () => {
    const { clock, scheduler, gates, shed, submit } = world({ groupLimit: 4 });
    const hang = gate();
    // The tenant's other endpoint holds two of its four slots.
    for (let i = 0; i < 2; i++) void scheduler.run('hang', 100, () => hang.opened, undefined, 'noisy');
    for (let n = 0; n < 40; n++) void submit('slow', 100, n, 'noisy');
    await flush();
    clock.now += 500;
    gates[0].open();
    gates[1].open();
    await flush();
    // At 0.5 s a task it is not slow: nothing is shed, however long its queue.
    expect(scheduler.shedStalled()).toBe(0);
    clock.now += 3_000;
    gates[2].open();
    gates[3].open();
    await flush();
    // The moving average weighs the newest task a fifth: 0.5, 0.5, 3 and 3 s give 1.4 s. The two
    // slots its tenant leaves it start one more within a second; the other 33 queued are shed.
    expect(scheduler.shedStalled()).toBe(33);
    expect(shed).toHaveLength(33);
    expect(scheduler.laneDepth('slow')).toBe(3);
    hang.open();
    for (let n = 4; n < 7; n++) gates[n].open();
  });
});
