import type { DataSource, EntityManager } from 'typeorm';
import { beforeDeadline, QueryDeadlinePassed, sharedDeadline } from './query-deadline';

describe('sharedDeadline', () => {
  it('is the latest deadline of the callers a query answers, or none once one of them has none', () => {
    expect(sharedDeadline([100, 300, 200])).toBe(300);
    expect(sharedDeadline([100, null, 200])).toBeNull();
    expect(sharedDeadline([])).toBeNull();
  });
});

/** A data source whose pool hands out one connection, after `connectMs`; it counts what was done to it. */
function fakeDataSource(connectMs = 0) {
  const seen = { destroyed: 0, released: 0, runners: 0 };
  const connection = { connection: { stream: { destroy: () => void (seen.destroyed += 1) } } };
  const runnerManager = {} as EntityManager;
  const dataSource = {
    manager: {} as EntityManager,
    createQueryRunner: () => {
      seen.runners += 1;
      return {
        manager: runnerManager,
        connect: () =>
          connectMs === 0
            ? Promise.resolve(connection)
            : new Promise((resolve) => setTimeout(() => resolve(connection), connectMs)),
        release: async () => void (seen.released += 1),
      };
    },
  } as unknown as DataSource;
  return { dataSource, runnerManager, seen };
}

describe('beforeDeadline', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs on the shared manager, on no connection of its own, when there is no deadline', async () => {
    const { dataSource, seen } = fakeDataSource();
    await expect(beforeDeadline(dataSource, null, async (manager) => manager)).resolves.toBe(
      dataSource.manager,
    );
    expect(seen.runners).toBe(0);
  });

  it('destroys the connection of a query still unanswered at the deadline, and not before', async () => {
    const { dataSource, runnerManager, seen } = fakeDataSource();
    let usedManager: EntityManager | undefined;
    const hung = beforeDeadline(dataSource, performance.now() + 1_000, (manager) => {
      usedManager = manager;
      return new Promise<never>(() => undefined);
    });
    await jest.advanceTimersByTimeAsync(999);
    expect(usedManager).toBe(runnerManager);
    expect(seen.destroyed).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(seen.destroyed).toBe(1);
    void hung;
  });

  it('leaves the connection of a query answered in time alone, and releases it', async () => {
    const { dataSource, seen } = fakeDataSource();
    await expect(beforeDeadline(dataSource, performance.now() + 1_000, async () => 'answer')).resolves.toBe(
      'answer',
    );
    await jest.advanceTimersByTimeAsync(2_000);
    expect(seen).toEqual({ destroyed: 0, released: 1, runners: 1 });
  });

  it('sends nothing on a connection that was free only after the deadline, and gives it back as it is', async () => {
    const { dataSource, seen } = fakeDataSource(1_500);
    let ran = false;
    const late = beforeDeadline(dataSource, performance.now() + 1_000, async () => void (ran = true));
    const settled = expect(late).rejects.toThrow(QueryDeadlinePassed);
    await jest.advanceTimersByTimeAsync(1_500);
    await settled;
    expect(ran).toBe(false);
    expect(seen).toEqual({ destroyed: 0, released: 1, runners: 1 });
  });
});
