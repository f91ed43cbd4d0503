import { decodeTask, FIRST_ATTEMPT } from '../domain/delivery-task';
import { RecordWithdrawn } from '../domain/records';
import { TransientError } from '../domain/transient';
import { WITHDRAWAL_POLL_MS } from '../domain/withdrawal';
import { attempt, retryState, sealed, task, tier1, world } from '../testing/settler-world';
import type { Settling } from './settler';

describe('Settler, strict ordering', () => {
  it('blocks the endpoint before the first retry of a delivery that was not blocked', async () => {
    const { settler, parking, producer } = world();
    const settling: Settling = {
      task: task(1),
      encoded: sealed(task(1)),
      state: FIRST_ATTEMPT,
      strict: 'first',
      attempt: attempt('failed', 500),
    };
    await settler.settle(settling, { kind: 'retry', occasion: 'attempted', tier: 0, state: retryState });
    expect(parking.blocks.get('ep-1/')).toBe('d-1');
    expect(producer.to(tier1)).toHaveLength(1);
    expect(await settler.admitStrict({ task: task(2), encoded: sealed(task(2)) })).toBe('parked');
    expect(await settler.admitStrict({ task: task(1), encoded: sealed(task(1)) })).toBe('is-blocker');
  });

  it("blocks only the failing delivery's key: another key of the endpoint is admitted", async () => {
    const { settler, parking, producer } = world();
    const keyed = (n: number, key: string) => ({ ...task(n), orderingKey: key });
    await settler.settle(
      {
        task: keyed(1, 'a'),
        encoded: sealed(keyed(1, 'a')),
        state: FIRST_ATTEMPT,
        strict: 'first',
        blockKey: 'a',
        attempt: attempt('failed', 500),
      },
      { kind: 'retry', occasion: 'attempted', tier: 0, state: retryState },
    );
    expect(parking.blocks.get('ep-1/a')).toBe('d-1');
    expect(
      await settler.admitStrict({ task: keyed(2, 'a'), encoded: sealed(keyed(2, 'a')), blockKey: 'a' }),
    ).toBe('parked');
    expect(
      await settler.admitStrict({ task: keyed(3, 'b'), encoded: sealed(keyed(3, 'b')), blockKey: 'b' }),
    ).toBe('not-blocked');
    expect(await settler.isBlocker(keyed(1, 'a'))).toBe(true);
    expect(await settler.isBlocker(keyed(3, 'b'))).toBe(false);
    // The blocker delivered: its key's parked delivery goes on, found by the blocker's id alone.
    await settler.settle(
      {
        task: keyed(1, 'a'),
        encoded: sealed(keyed(1, 'a')),
        state: retryState,
        strict: 'blocker',
        attempt: attempt('delivered', 200),
      },
      { kind: 'delivered', occasion: 'attempted' },
    );
    expect(parking.blocks.get('ep-1/a')).toBe('d-2');
    expect(producer.to(tier1).map((r) => decodeTask(r.value as Buffer).deliveryId)).toEqual(['d-1', 'd-2']);
  });

  it('releases the oldest parked delivery through the shortest tier once the blocker is delivered', async () => {
    const { settler, parking, producer } = world();
    await parking.block('ep-1', '', 'd-1', true);
    await parking.park(task(2), '', sealed(task(2)), true);
    await parking.park(task(3), '', sealed(task(3)), true);
    await settler.settle(
      {
        task: task(1),
        encoded: sealed(task(1)),
        state: retryState,
        strict: 'blocker',
        attempt: attempt('delivered', 200),
      },
      { kind: 'delivered', occasion: 'attempted' },
    );
    expect(parking.blocks.get('ep-1/')).toBe('d-2');
    expect(parking.parked.map((p) => p.task.deliveryId)).toEqual(['d-3']);
    const [released] = producer.to(tier1);
    expect(decodeTask(released.value as Buffer).deliveryId).toBe('d-2');
    expect(released.headers).toMatchObject({ 'hs-attempt': '1', 'hs-origin': 'strict-release' });
  });

  it('hands on a blocker promoted from the parking lot whose releaser died before handing it on', async () => {
    const { settler, parking, producer } = world();
    await parking.block('ep-1', '', 'd-1', true);
    await parking.park(task(2), '', sealed(task(2)), true);
    await parking.park(task(3), '', sealed(task(3)), true);
    // d-1 finished; d-2 was promoted, then the process died before the release.
    await parking.nextParked('ep-1', 'd-1');
    expect(producer.to(tier1)).toHaveLength(0);

    expect(await settler.releaseUnreleased(60_000, 100)).toBe(1);
    const [released] = producer.to(tier1);
    expect(decodeTask(released.value as Buffer).deliveryId).toBe('d-2');
    expect(released.headers).toMatchObject({ 'hs-attempt': '1', 'hs-origin': 'strict-release' });
    expect(parking.parked.map((p) => p.task.deliveryId)).toEqual(['d-3']);
    expect(await settler.releaseUnreleased(60_000, 100)).toBe(0);
  });

  it('hands on what is parked behind an endpoint switched to none, the owner only, and lifts its block', async () => {
    const { settler, parking, producer } = world();
    await parking.block('ep-1', '', 'd-1', true);
    await parking.park(task(2), '', sealed(task(2)), true);
    await parking.park(task(3), '', sealed(task(3)), true);
    // Still strict: nothing moves.
    expect(await settler.releaseParkedOfUnordered(100, () => true)).toBe(0);
    parking.unordered.add('ep-1');
    // Another replica owns the endpoint: it leaves them to the owner.
    expect(await settler.releaseParkedOfUnordered(100, () => false)).toBe(0);
    expect(parking.parked).toHaveLength(2);

    expect(await settler.releaseParkedOfUnordered(100, (id) => id === 'ep-1')).toBe(2);
    const released = producer.to(tier1).map((r) => decodeTask(r.value as Buffer).deliveryId);
    expect(released).toEqual(['d-2', 'd-3']);
    expect(parking.parked).toHaveLength(0);
    expect(parking.blocks.size).toBe(0);
  });

  it('lifts the block when the blocker is dead-lettered and nothing is parked', async () => {
    const { settler, parking } = world();
    await parking.block('ep-1', '', 'd-1', true);
    await settler.settle(
      { task: task(1), encoded: sealed(task(1)), state: retryState, strict: 'blocker' },
      {
        kind: 'dead-letter',
        occasion: 'attempted',
        reason: 'attempts_exhausted',
        detail: 'HTTP 500',
        state: retryState,
      },
    );
    expect(parking.blocks.size).toBe(0);
  });

  it('hands on the key of a delivery isolated as handler_failed only if it blocks it', async () => {
    const { settler, parking, producer } = world();
    await parking.block('ep-1', '', 'd-1', true);
    await parking.park(task(2), '', sealed(task(2)), true);
    await settler.releaseAfterIsolation(task(3));
    expect(parking.blocks.get('ep-1/')).toBe('d-1');
    expect(producer.to(tier1)).toHaveLength(0);

    await settler.releaseAfterIsolation(task(1));
    expect(parking.blocks.get('ep-1/')).toBe('d-2');
    expect(producer.to(tier1).map((r) => decodeTask(r.value as Buffer).deliveryId)).toEqual(['d-2']);
    expect(parking.parked).toHaveLength(0);
  });

  it('neither blocks nor releases for a retry that does not block the endpoint', async () => {
    const { settler, parking } = world();
    await parking.block('ep-1', '', 'd-9', true);
    await parking.park(task(2), '', sealed(task(2)), true);
    const bystander: Settling = {
      task: task(1),
      encoded: sealed(task(1)),
      state: retryState,
      strict: 'bystander',
    };
    await settler.settle(bystander, { kind: 'retry', occasion: 'attempted', tier: 0, state: retryState });
    await settler.settle(bystander, { kind: 'delivered', occasion: 'attempted' });
    expect(parking.blocks.get('ep-1/')).toBe('d-9');
    expect(parking.parked).toHaveLength(1);
    expect(await settler.isBlocker(task(1))).toBe(false);
  });

  describe('while PostgreSQL is down', () => {
    afterEach(() => jest.useRealTimers());

    it('retries an admission while the record is owned, and gives it up as withdrawn once it is not', async () => {
      jest.useFakeTimers();
      const { settler, parking } = world();
      let asked = 0;
      parking.park = async () => {
        asked += 1;
        throw new TransientError('PostgreSQL unavailable');
      };
      let owned = true;
      const admission = settler.admitStrict({ task: task(1), encoded: sealed(task(1)) }, () => !owned);
      const outcome = admission.then(
        () => 'admitted',
        (error: unknown) => error,
      );
      await jest.advanceTimersByTimeAsync(10_000);
      expect(asked).toBeGreaterThan(3);
      // The partition moved (or the consumer stops): the next failure ends the wait.
      owned = false;
      await jest.advanceTimersByTimeAsync(5_000);
      expect(await outcome).toBeInstanceOf(RecordWithdrawn);
    });

    it("gives a retry's blocker question up the same way", async () => {
      jest.useFakeTimers();
      const { settler, parking } = world();
      parking.isBlocking = async () => {
        throw new TransientError('PostgreSQL unavailable');
      };
      let owned = true;
      const question = settler
        .isBlocker(task(1), () => !owned)
        .then(
          () => 'answered',
          (error: unknown) => error,
        );
      await jest.advanceTimersByTimeAsync(1_000);
      owned = false;
      await jest.advanceTimersByTimeAsync(5_000);
      expect(await question).toBeInstanceOf(RecordWithdrawn);
    });

    it("leaves a retry's blocker question that hangs as soon as the record is withdrawn", async () => {
      jest.useFakeTimers();
      const { settler, parking } = world();
      // PostgreSQL hangs rather than refuses: the read neither answers nor fails for minutes.
      parking.isBlocking = () => new Promise<boolean>(() => undefined);
      let owned = true;
      const question = settler
        .isBlocker(task(1), () => !owned)
        .then(
          () => 'answered',
          (error: unknown) => error,
        );
      await jest.advanceTimersByTimeAsync(60_000);
      owned = false;
      await jest.advanceTimersByTimeAsync(WITHDRAWAL_POLL_MS);
      expect(await settledNow(question)).toBeInstanceOf(RecordWithdrawn);
    });

    it('leaves an admission waiting to try the park again as soon as the record is withdrawn', async () => {
      jest.useFakeTimers();
      const { settler, parking } = world();
      parking.park = async () => {
        throw new TransientError('PostgreSQL unavailable');
      };
      let owned = true;
      const outcome = settler
        .admitStrict({ task: task(1), encoded: sealed(task(1)) }, () => !owned)
        .then(
          () => 'admitted',
          (error: unknown) => error,
        );
      // Past a few failures, the wait before the next try is 5 s.
      await jest.advanceTimersByTimeAsync(10_000);
      owned = false;
      await jest.advanceTimersByTimeAsync(WITHDRAWAL_POLL_MS);
      expect(await settledNow(outcome)).toBeInstanceOf(RecordWithdrawn);
    });

    it('waits for a park in flight to end before leaving, and gives each try a deadline', async () => {
      jest.useFakeTimers();
      const { settler, parking } = world();
      let finish!: (result: 'parked') => void;
      const deadlines: unknown[] = [];
      parking.park = (...args: unknown[]) => {
        deadlines.push(args[4]);
        return new Promise((resolve) => (finish = resolve));
      };
      let owned = true;
      const outcome = settler
        .admitStrict({ task: task(1), encoded: sealed(task(1)) }, () => !owned)
        .then(
          (result) => result,
          (error: unknown) => error,
        );
      owned = false;
      await jest.advanceTimersByTimeAsync(10 * WITHDRAWAL_POLL_MS);
      // A park given up here could commit later, after the next owner delivered the record.
      expect(await settledNow(outcome)).toBe('still waiting');
      expect(deadlines).toEqual([expect.any(Number)]);
      finish('parked');
      expect(await outcome).toBe('parked');
    });

    it('gives each read of whether a delivery blocks its key a deadline', async () => {
      const { settler, parking } = world();
      const deadlines: unknown[] = [];
      parking.isBlocking = async (...args: unknown[]) => {
        deadlines.push(args[2]);
        return false;
      };
      expect(await settler.isBlocker(task(1))).toBe(false);
      expect(deadlines).toEqual([expect.any(Number)]);
    });
  });
});

/** What `outcome` settled to by now, or 'still waiting'. */
function settledNow<T>(outcome: Promise<T>): Promise<T | 'still waiting'> {
  return Promise.race([outcome, Promise.resolve('still waiting' as const)]);
}
