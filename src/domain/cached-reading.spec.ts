import { CachedReading } from './cached-reading';

/** A source whose reads the test answers one at a time. */
function controlledSource() {
  const pending: Array<{ resolve: (value: number) => void; reject: (error: Error) => void }> = [];
  let reads = 0;
  return {
    read: () => {
      reads += 1;
      return new Promise<number>((resolve, reject) => pending.push({ resolve, reject }));
    },
    answer: (value: number) => pending.shift()!.resolve(value),
    fail: (message: string) => pending.shift()!.reject(new Error(message)),
    reads: () => reads,
  };
}

describe('CachedReading', () => {
  let nowMs: number;
  const clock = () => nowMs;
  beforeEach(() => (nowMs = 1_000_000));

  it('has no value and an infinite age before its first successful read, and is due at once', () => {
    const reading = new CachedReading(() => Promise.resolve(1), 15_000, clock);
    expect(reading.current()).toBeUndefined();
    expect(reading.ageSeconds()).toBe(Infinity);
    expect(reading.due()).toBe(true);
  });

  it('keeps the last good value through failures, counts them, and ages it from the start of its read', async () => {
    const source = controlledSource();
    const reading = new CachedReading(source.read, 15_000, clock);
    const first = reading.refresh();
    nowMs += 300; // the read took 300 ms
    source.answer(42);
    expect(await first).toBe(true);
    expect(reading.current()).toBe(42);
    expect(reading.ageSeconds()).toBeCloseTo(0.3);

    nowMs += 15_000;
    const errors: unknown[] = [];
    const second = reading.refresh((error) => errors.push(error));
    source.fail('connect ECONNREFUSED 127.0.0.1:5432');
    expect(await second).toBe(false);
    expect(reading.current()).toBe(42);
    expect(reading.failures()).toBe(1);
    expect(errors).toEqual([new Error('connect ECONNREFUSED 127.0.0.1:5432')]);
    expect(reading.ageSeconds()).toBeCloseTo(15.3);
  });

  it('is due once per interval whether the last read succeeded or failed', async () => {
    const source = controlledSource();
    const reading = new CachedReading(source.read, 15_000, clock);
    const failing = reading.refresh();
    source.fail('down');
    await failing;
    expect(reading.due()).toBe(false);
    nowMs += 14_999;
    expect(reading.due()).toBe(false);
    nowMs += 1;
    expect(reading.due()).toBe(true);
  });

  it('shares one read among concurrent refreshes and is not due while it runs', async () => {
    const source = controlledSource();
    const reading = new CachedReading(source.read, 1_000, clock);
    const a = reading.refresh();
    const b = reading.refresh();
    nowMs += 5_000;
    expect(reading.due()).toBe(false);
    source.answer(7);
    expect(await Promise.all([a, b])).toEqual([true, true]);
    expect(source.reads()).toBe(1);
    expect(reading.due()).toBe(true);
  });
});
