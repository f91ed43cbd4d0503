import { retryUntilDone } from './retry-loop';

describe('retryUntilDone', () => {
  it('retries with doubling waits, capped, until the work succeeds', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await retryUntilDone(
      async () => {
        calls += 1;
        if (calls < 6) throw new Error(`failure ${calls}`);
        return 'done';
      },
      {
        baseDelayMs: 100,
        maxDelayMs: 1_000,
        onRetry: () => undefined,
        sleep: async (ms) => void waits.push(ms),
      },
    );
    expect(result).toBe('done');
    expect(waits).toEqual([100, 200, 400, 800, 1_000]);
  });

  it('reports each failure with the wait before the next try', async () => {
    const seen: Array<[string, number, number]> = [];
    let calls = 0;
    await retryUntilDone(
      async () => {
        if (++calls < 3) throw new Error(`failure ${calls}`);
      },
      {
        baseDelayMs: 10,
        maxDelayMs: 100,
        onRetry: (error, waitMs, attempt) => seen.push([(error as Error).message, waitMs, attempt]),
        sleep: async () => undefined,
      },
    );
    expect(seen).toEqual([
      ['failure 1', 10, 1],
      ['failure 2', 20, 2],
    ]);
  });

  it('rethrows instead of waiting once stopped', async () => {
    let stopped = false;
    const attempt = retryUntilDone(
      async () => {
        stopped = true;
        throw new Error('broker down');
      },
      { baseDelayMs: 10, maxDelayMs: 10, onRetry: () => undefined, stopped: () => stopped },
    );
    await expect(attempt).rejects.toThrow('broker down');
  });
});
