import { withTimeout } from './with-timeout';

describe('withTimeout', () => {
  afterEach(() => jest.useRealTimers());

  it('settles as the promise does when it settles first, leaving no timer behind', async () => {
    jest.useFakeTimers();
    await expect(withTimeout(Promise.resolve(7), 1_000, 'too slow')).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('refused')), 1_000, 'too slow')).rejects.toThrow(
      'refused',
    );
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rejects with the message once the time has passed without an answer', async () => {
    jest.useFakeTimers();
    const late = withTimeout(new Promise<never>(() => undefined), 1_000, 'no answer within 1000 ms');
    const outcomes: unknown[] = [];
    late.catch((error: unknown) => outcomes.push(error));
    await jest.advanceTimersByTimeAsync(999);
    expect(outcomes).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(outcomes).toEqual([new Error('no answer within 1000 ms')]);
  });
});
