import { RecordWithdrawn } from '../domain/records';
import { TransientError } from '../domain/transient';
import { endpoint } from '../testing/fakes';
import { WITHDRAWAL_POLL_MS } from '../domain/withdrawal';
import { EndpointLookups } from './endpoint-lookups';

describe('EndpointLookups', () => {
  afterEach(() => jest.useRealTimers());

  it('asks once for all its waiters, retries while PostgreSQL is down, and answers them in order', async () => {
    jest.useFakeTimers();
    const target = endpoint();
    let down = true;
    let asked = 0;
    const lookups = new EndpointLookups(async () => {
      asked += 1;
      if (down) throw new TransientError('PostgreSQL unavailable');
      return target;
    });
    const answered: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      lookups.endpoint(target.id, () => false).then(() => void answered.push(n)),
    );
    await jest.advanceTimersByTimeAsync(1_000);
    expect(lookups.waiting(target.id)).toBe(true);
    const askedWhileDown = asked;
    down = false;
    await jest.advanceTimersByTimeAsync(5_000);
    await Promise.all(waiters);
    expect(answered).toEqual([1, 2, 3]);
    expect(asked).toBe(askedWhileDown + 1);
    expect(lookups.waiting(target.id)).toBe(false);
  });

  it('lets a withdrawn waiter go at the next failure, and stops asking once none is left', async () => {
    jest.useFakeTimers();
    let asked = 0;
    const lookups = new EndpointLookups(async () => {
      asked += 1;
      throw new TransientError('PostgreSQL unavailable');
    });
    let owned = true;
    const waiter = lookups.endpoint('ep', () => !owned).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(1_000);
    owned = false;
    await jest.advanceTimersByTimeAsync(5_000);
    expect(await waiter).toBeInstanceOf(RecordWithdrawn);
    const askedThen = asked;
    await jest.advanceTimersByTimeAsync(20_000);
    expect(asked).toBe(askedThen);
    expect(lookups.waiting('ep')).toBe(false);
  });

  it('lets a withdrawn waiter go while the lookup hangs, and answers the others when it ends', async () => {
    jest.useFakeTimers();
    const target = endpoint();
    let answer!: (found: typeof target) => void;
    let asked = 0;
    // PostgreSQL hangs rather than refuses: the lookup neither answers nor fails for minutes.
    const lookups = new EndpointLookups(() => {
      asked += 1;
      return new Promise((resolve) => (answer = resolve));
    });
    let owned = true;
    const moved = lookups.endpoint(target.id, () => !owned).catch((error: unknown) => error);
    const kept = lookups.endpoint(target.id, () => false);
    await jest.advanceTimersByTimeAsync(60_000);
    owned = false;
    await jest.advanceTimersByTimeAsync(WITHDRAWAL_POLL_MS);
    expect(await settledNow(moved)).toBeInstanceOf(RecordWithdrawn);
    answer(target);
    expect(await kept).toBe(target);
    expect(asked).toBe(1);
    expect(lookups.waiting(target.id)).toBe(false);
  });

  it('hands a failure that is not transient to every waiter at once', async () => {
    const lookups = new EndpointLookups(async () => {
      throw new Error('column "x" does not exist');
    });
    const waiters = [1, 2].map(() => lookups.endpoint('ep', () => false));
    for (const waiter of waiters) await expect(waiter).rejects.toThrow('does not exist');
  });
});

/** What `outcome` settled to by now, or 'still waiting'. */
function settledNow<T>(outcome: Promise<T>): Promise<T | 'still waiting'> {
  return Promise.race([outcome, Promise.resolve('still waiting' as const)]);
}
