import { flush, gate } from '../testing/fakes';
import { CoalescedRuns } from './coalesced-runs';

describe('CoalescedRuns', () => {
  /** A task that records when it started and waits for the test to finish it. */
  function heldTasks() {
    const started: Array<{ n: number; finish: (error?: Error) => void }> = [];
    const task = () => {
      const done = gate<Error | undefined>();
      started.push({ n: started.length + 1, finish: (error) => done.open(error) });
      return done.opened.then((error) => {
        if (error) throw error;
      });
    };
    return { started, task };
  }

  it('runs one task per key at a time, and one more after it for every call made meanwhile', async () => {
    const runs = new CoalescedRuns<string>();
    const { started, task } = heldTasks();
    const first = runs.run('e1', task);
    const second = runs.run('e1', task);
    const third = runs.run('e1', task);
    await flush();
    expect(started.map((run) => run.n)).toEqual([1]);
    started[0].finish();
    await first;
    await flush();
    // The calls made while the first ran share one run that started after them.
    expect(started.map((run) => run.n)).toEqual([1, 2]);
    expect(second).toBe(third);
    started[1].finish();
    await Promise.all([second, third]);
    expect(runs.running('e1')).toBe(false);
  });

  it('runs tasks of different keys side by side', async () => {
    const runs = new CoalescedRuns<string>();
    const { started, task } = heldTasks();
    const all = [runs.run('e1', task), runs.run('e2', task)];
    await flush();
    expect(started).toHaveLength(2);
    for (const run of started) run.finish();
    await Promise.all(all);
  });

  it('gives a failure to the callers of that run only, and still runs the one queued after it', async () => {
    const runs = new CoalescedRuns<string>();
    const { started, task } = heldTasks();
    const first = runs.run('e1', task);
    const second = runs.run('e1', task);
    started[0].finish(new Error('PostgreSQL unavailable'));
    await expect(first).rejects.toThrow('PostgreSQL unavailable');
    await flush();
    started[1].finish();
    await expect(second).resolves.toBeUndefined();
    expect(runs.running('e1')).toBe(false);
  });
});
