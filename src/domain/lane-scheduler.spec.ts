import { LaneScheduler } from './lane-scheduler';
import { RecordWithdrawn } from './records';

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

  describe('a stalled lane', () => {
    function clocked(stallAfterMs: number, globalLimit = 10) {
      const clock = { now: 1_000 };
      const scheduler = new LaneScheduler(globalLimit, { stallAfterMs, now: () => clock.now });
      return { clock, scheduler };
    }

    it('sheds its queued tasks beyond the oldest one once nothing has started for stallAfterMs', async () => {
      const { clock, scheduler } = clocked(1_000);
      const stuck = gate();
      const outcomes: string[] = [];
      void scheduler.run('hang', 1, () => stuck.opened);
      const queued = [1, 2, 3].map((i) =>
        scheduler.run(
          'hang',
          1,
          async () => `ran ${i}`,
          async (stalledForMs) => `shed ${i} after ${stalledForMs}`,
        ),
      );
      clock.now += 999;
      expect(scheduler.shedStalled()).toBe(0);
      clock.now += 1;
      expect(scheduler.shedStalled()).toBe(2);
      outcomes.push(...(await Promise.all(queued.slice(1))));
      expect(outcomes).toEqual(['shed 2 after 1000', 'shed 3 after 1000']);
      expect(scheduler.laneDepth('hang')).toBe(2);
      stuck.open();
      await expect(queued[0]).resolves.toBe('ran 1');
    });

    it('sheds a new arrival at once while stalled, and takes tasks again once it moves', async () => {
      const { clock, scheduler } = clocked(1_000);
      const stuck = gate();
      void scheduler.run('hang', 1, () => stuck.opened);
      const kept = scheduler.run(
        'hang',
        1,
        async () => 'ran kept',
        async () => 'shed kept',
      );
      clock.now += 5_000;
      await expect(
        scheduler.run(
          'hang',
          1,
          async () => 'ran',
          async () => 'shed',
        ),
      ).resolves.toBe('shed');
      stuck.open();
      await expect(kept).resolves.toBe('ran kept');
      await expect(
        scheduler.run(
          'hang',
          1,
          async () => 'ran',
          async () => 'shed',
        ),
      ).resolves.toBe('ran');
    });

    it('never sheds a task that has no shed function (strict ordering waits its turn)', async () => {
      const { clock, scheduler } = clocked(10);
      const stuck = gate();
      void scheduler.run('strict', 1, () => stuck.opened);
      const waiting = [1, 2, 3].map((i) => scheduler.run('strict', 1, async () => i));
      clock.now += 60_000;
      expect(scheduler.shedStalled()).toBe(0);
      stuck.open();
      await expect(Promise.all(waiting)).resolves.toEqual([1, 2, 3]);
    });

    it('is not stalled while waiting for a global slot another lane holds', async () => {
      const { clock, scheduler } = clocked(10, 1);
      const stuck = gate();
      void scheduler.run('other', 1, () => stuck.opened);
      const queued = [1, 2].map((i) =>
        scheduler.run(
          'idle',
          1,
          async () => i,
          async () => -i,
        ),
      );
      clock.now += 60_000;
      expect(scheduler.shedStalled()).toBe(0);
      stuck.open();
      await expect(Promise.all(queued)).resolves.toEqual([1, 2]);
    });

    it('is not stalled while one of several slots still moves', async () => {
      const { clock, scheduler } = clocked(1_000);
      const stuck = gate();
      void scheduler.run('wide', 2, () => stuck.opened);
      const quick = gate();
      void scheduler.run('wide', 2, () => quick.opened);
      const queued = scheduler.run(
        'wide',
        2,
        async () => 'ran',
        async () => 'shed',
      );
      const later = scheduler.run(
        'wide',
        2,
        async () => 'ran later',
        async () => 'shed later',
      );
      clock.now += 900;
      quick.open();
      await expect(queued).resolves.toBe('ran');
      clock.now += 900;
      expect(scheduler.shedStalled()).toBe(0);
      await expect(later).resolves.toBe('ran later');
      stuck.open();
    });

    it('is hanging while every slot has been busy for stallAfterMs, queued work or not', async () => {
      const { clock, scheduler } = clocked(1_000);
      expect(scheduler.isHanging('hang')).toBe(false);
      const stuck = gate();
      const running = scheduler.run('hang', 1, () => stuck.opened);
      clock.now += 999;
      expect(scheduler.isHanging('hang')).toBe(false);
      clock.now += 1;
      expect(scheduler.isHanging('hang')).toBe(true);
      expect(scheduler.laneDepth('hang')).toBe(1);
      stuck.open();
      await running;
      await flush();
      expect(scheduler.isHanging('hang')).toBe(false);
    });

    it('lists the hanging lanes, and only those', async () => {
      const { clock, scheduler } = clocked(1_000);
      const stuck = gate();
      const quick = gate();
      const running = [
        scheduler.run('hang', 1, () => stuck.opened),
        scheduler.run('wide', 2, () => stuck.opened),
        scheduler.run('moving', 1, () => quick.opened),
      ];
      // 'moving' has finished its task; 'wide' has a slot free.
      quick.open();
      await running[2];
      await flush();
      clock.now += 1_000;
      expect(scheduler.hangingKeys()).toEqual(['hang']);
      stuck.open();
      await Promise.all(running);
      await flush();
      expect(scheduler.hangingKeys()).toEqual([]);
    });
  });

  describe('groups (tenants)', () => {
    it('runs at most the group limit at once, while other groups go on', async () => {
      const scheduler = new LaneScheduler(10, { stallAfterMs: Number.POSITIVE_INFINITY, groupLimit: 2 });
      const stuck = gate();
      for (const key of ['a1', 'a2', 'a3'])
        void scheduler.run(key, 5, () => stuck.opened, undefined, 'tenant-a');
      await flush();
      expect(scheduler.groupInFlight('tenant-a')).toBe(2);
      const done: string[] = [];
      await scheduler.run('b1', 1, async () => void done.push('b1'), undefined, 'tenant-b');
      expect(done).toEqual(['b1']);
      stuck.open();
      await flush();
      await flush();
      expect(scheduler.groupInFlight('tenant-a')).toBe(0);
      expect(scheduler.inFlight()).toBe(0);
    });

    it('counts a lane waiting for its group as stalled, so its queue is shed', async () => {
      let nowMs = 0;
      const scheduler = new LaneScheduler(10, { stallAfterMs: 1_000, groupLimit: 1, now: () => nowMs });
      const stuck = gate();
      void scheduler.run('a1', 1, () => stuck.opened, undefined, 'tenant-a');
      const shed: number[] = [];
      const queued = [1, 2, 3].map((n) =>
        scheduler.run(
          'a2',
          5,
          async () => 'ran',
          async () => void shed.push(n),
          'tenant-a',
        ),
      );
      await flush();
      expect(scheduler.isHanging('a2')).toBe(false);
      nowMs = 1_500;
      expect(scheduler.isHanging('a2')).toBe(true);
      expect(scheduler.shedStalled()).toBe(2);
      stuck.open();
      await Promise.all(queued);
      expect(shed).toEqual([2, 3]);
    });
  });

  describe('withdrawn tasks (their partition moved to another replica)', () => {
    it('skips a withdrawn task when its turn comes and runs the next', async () => {
      const scheduler = new LaneScheduler(10);
      const stuck = gate();
      const ran: string[] = [];
      let moved = false;
      const head = scheduler.run('a', 1, () => stuck.opened);
      const withdrawn = scheduler.run(
        'a',
        1,
        async () => void ran.push('moved'),
        undefined,
        '',
        () => moved,
      );
      const next = scheduler.run('a', 1, async () => void ran.push('next'));
      moved = true;
      stuck.open();
      await expect(withdrawn).rejects.toBeInstanceOf(RecordWithdrawn);
      await Promise.all([head, next]);
      expect(ran).toEqual(['next']);
      expect(scheduler.laneDepth('a')).toBe(0);
    });

    it('drops withdrawn tasks waiting behind a hanging one without waiting for it', async () => {
      const scheduler = new LaneScheduler(10);
      const stuck = gate();
      let moved = false;
      const ran: number[] = [];
      void scheduler.run('hang', 1, () => stuck.opened);
      const queued = [1, 2].map((n) =>
        scheduler.run(
          'hang',
          1,
          async () => void ran.push(n),
          undefined,
          '',
          () => moved,
        ),
      );
      expect(scheduler.dropWithdrawn()).toBe(0);
      moved = true;
      expect(scheduler.dropWithdrawn()).toBe(2);
      for (const task of queued) await expect(task).rejects.toBeInstanceOf(RecordWithdrawn);
      expect(ran).toEqual([]);
      expect(scheduler.laneDepth('hang')).toBe(1);
      stuck.open();
    });

    it('never queues a task already withdrawn', async () => {
      const scheduler = new LaneScheduler(10);
      const ran: string[] = [];
      await expect(
        scheduler.run(
          'a',
          1,
          async () => void ran.push('ran'),
          undefined,
          '',
          () => true,
        ),
      ).rejects.toBeInstanceOf(RecordWithdrawn);
      expect(ran).toEqual([]);
      expect(scheduler.laneDepth('a')).toBe(0);
    });
  });
});
