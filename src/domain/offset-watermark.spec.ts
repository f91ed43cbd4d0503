import { InvalidOffsetError, OffsetWatermark } from './offset-watermark';

/** Deterministic PRNG so a failing property run can be reproduced from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The obvious, slow implementation the real one must agree with. */
class NaiveWatermark {
  private readonly tracked: bigint[] = [];
  private readonly completed = new Set<bigint>();
  private committed: bigint | null = null;

  track(offset: bigint): void {
    this.tracked.push(offset);
  }
  complete(offset: bigint): void {
    this.completed.add(offset);
  }
  markCommitted(offset: bigint): void {
    if (this.committed === null || offset > this.committed) this.committed = offset;
  }
  committable(): string | null {
    let last: bigint | null = null;
    for (const offset of this.tracked) {
      if (!this.completed.has(offset)) break;
      last = offset;
    }
    if (last === null) return null;
    if (this.committed !== null && last + 1n <= this.committed) return null;
    return (last + 1n).toString();
  }
  inFlight(): number {
    return this.tracked.filter((o) => !this.completed.has(o)).length;
  }
  oldestPending(): string | null {
    const pending = this.tracked.find((o) => !this.completed.has(o));
    return pending === undefined ? null : pending.toString();
  }
  finishedAhead(): string {
    const first = this.tracked.findIndex((o) => !this.completed.has(o));
    if (first < 0) return '';
    const ranges: string[] = [];
    let run: bigint[] = [];
    for (const offset of [...this.tracked.slice(first + 1), null]) {
      if (offset !== null && this.completed.has(offset)) {
        run.push(offset);
        continue;
      }
      if (run.length > 0) ranges.push(`${run[0]}-${run[run.length - 1]}`);
      run = [];
    }
    return ranges.join(',');
  }
}

function rangesText(ranges: Array<[bigint, bigint]>): string {
  return ranges.map(([first, last]) => `${first}-${last}`).join(',');
}

describe('OffsetWatermark', () => {
  it('has nothing to commit before anything completes', () => {
    const watermark = new OffsetWatermark();
    expect(watermark.committable()).toBeNull();
    expect(watermark.inFlight()).toBe(0);
    expect(watermark.oldestPending()).toBeNull();
    watermark.track('5');
    expect(watermark.committable()).toBeNull();
    expect(watermark.inFlight()).toBe(1);
    expect(watermark.oldestPending()).toBe('5');
  });

  it('commits one past the contiguous completed prefix when completions arrive out of order', () => {
    const watermark = new OffsetWatermark();
    ['5', '6', '7'].forEach((o) => watermark.track(o));
    watermark.complete('7');
    expect(watermark.committable()).toBeNull();
    expect(watermark.oldestPending()).toBe('5');
    watermark.complete('5');
    expect(watermark.committable()).toBe('6');
    expect(watermark.oldestPending()).toBe('6');
    expect(watermark.inFlight()).toBe(1);
    watermark.complete('6');
    expect(watermark.committable()).toBe('8');
    expect(watermark.oldestPending()).toBeNull();
    expect(watermark.inFlight()).toBe(0);
  });

  it('returns null after markCommitted until the watermark moves again', () => {
    const watermark = new OffsetWatermark();
    ['1', '2', '3'].forEach((o) => watermark.track(o));
    watermark.complete('1');
    expect(watermark.committable()).toBe('2');
    watermark.markCommitted('2');
    expect(watermark.committable()).toBeNull();
    watermark.complete('3');
    expect(watermark.committable()).toBeNull();
    watermark.complete('2');
    expect(watermark.committable()).toBe('4');
    watermark.markCommitted('4');
    expect(watermark.committable()).toBeNull();
  });

  it('ignores a stale markCommitted that is older than the last one', () => {
    const watermark = new OffsetWatermark();
    watermark.track('10');
    watermark.complete('10');
    watermark.markCommitted('11');
    watermark.markCommitted('3');
    expect(watermark.committable()).toBeNull();
  });

  it('is not held back by offset gaps (transaction markers, compaction)', () => {
    const watermark = new OffsetWatermark();
    ['100', '102', '110'].forEach((o) => watermark.track(o));
    watermark.complete('102');
    watermark.complete('100');
    expect(watermark.committable()).toBe('103');
    expect(watermark.oldestPending()).toBe('110');
    watermark.complete('110');
    expect(watermark.committable()).toBe('111');
  });

  it('handles offsets beyond Number.MAX_SAFE_INTEGER exactly', () => {
    const watermark = new OffsetWatermark();
    watermark.track('9007199254740993');
    watermark.track('9223372036854775806');
    watermark.complete('9007199254740993');
    expect(watermark.committable()).toBe('9007199254740994');
    watermark.complete('9223372036854775806');
    expect(watermark.committable()).toBe('9223372036854775807');
  });

  it('treats duplicate or unknown completions as no-ops and says so', () => {
    const watermark = new OffsetWatermark();
    watermark.track('1');
    watermark.track('2');
    expect(watermark.complete('2')).toBe(true);
    expect(watermark.complete('2')).toBe(false);
    expect(watermark.complete('7')).toBe(false);
    expect(watermark.inFlight()).toBe(1);
    expect(watermark.complete('1')).toBe(true);
    expect(watermark.complete('1')).toBe(false);
    expect(watermark.committable()).toBe('3');
    expect(watermark.inFlight()).toBe(0);
  });

  it('accepts a non-canonical decimal form of a tracked offset', () => {
    const watermark = new OffsetWatermark();
    watermark.track('42');
    expect(watermark.complete('042')).toBe(true);
    expect(watermark.committable()).toBe('43');
  });

  it('rejects offsets that do not increase', () => {
    const watermark = new OffsetWatermark();
    watermark.track('5');
    expect(() => watermark.track('5')).toThrow(InvalidOffsetError);
    expect(() => watermark.track('4')).toThrow(InvalidOffsetError);
    watermark.track('6');
    expect(watermark.inFlight()).toBe(2);
  });

  it.each(['', '-1', '1.5', 'abc', ' 1', '1e3', '9223372036854775808', '99999999999999999999'])(
    'rejects the malformed offset %p',
    (offset) => {
      const watermark = new OffsetWatermark();
      expect(() => watermark.track(offset)).toThrow(InvalidOffsetError);
      expect(() => watermark.complete(offset)).toThrow(InvalidOffsetError);
      expect(() => watermark.markCommitted(offset)).toThrow(InvalidOffsetError);
    },
  );

  it('stays correct across queue compaction with a long-lived slow message', () => {
    const watermark = new OffsetWatermark();
    const count = 5000;
    for (let i = 0; i < count; i++) watermark.track(String(i));
    // Offset 0 is a slow endpoint; everything after it finishes first.
    for (let i = 1; i < count; i++) watermark.complete(String(i));
    expect(watermark.committable()).toBeNull();
    expect(watermark.oldestPending()).toBe('0');
    watermark.complete('0');
    expect(watermark.committable()).toBe(String(count));
    // Then in-order streaming: the head pops on each completion.
    for (let i = count; i < count * 3; i++) {
      watermark.track(String(i));
      if (i > count) watermark.complete(String(i - 1));
    }
    expect(watermark.committable()).toBe(String(count * 3 - 1));
    expect(watermark.inFlight()).toBe(1);
  });

  it('names what completed past the lowest pending message, as ranges, up to a number of them', () => {
    const watermark = new OffsetWatermark();
    ['10', '11', '12', '13', '15', '16', '17', '18'].forEach((o) => watermark.track(o));
    expect(watermark.finishedAhead(10)).toEqual([]);
    // 14 was never tracked (a transaction marker): it does not split a range.
    ['10', '12', '13', '15', '17'].forEach((o) => watermark.complete(o));
    expect(watermark.completedCount()).toBe(5);
    expect(rangesText(watermark.finishedAhead(10))).toBe('12-15,17-17');
    expect(rangesText(watermark.finishedAhead(1))).toBe('12-15');
    watermark.complete('11');
    expect(rangesText(watermark.finishedAhead(10))).toBe('17-17');
    expect(watermark.completedCount()).toBe(6);
  });

  it('agrees with a naive model under random interleavings', () => {
    let checks = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const random = mulberry32(seed);
      const real = new OffsetWatermark();
      const model = new NaiveWatermark();
      const pending: bigint[] = [];
      let next = BigInt(Math.floor(random() * 1000));
      for (let step = 0; step < 300; step++) {
        const roll = random();
        if (roll < 0.45 || pending.length === 0) {
          next += 1n + BigInt(random() < 0.1 ? Math.floor(random() * 5) : 0);
          real.track(next.toString());
          model.track(next);
          pending.push(next);
        } else if (roll < 0.9) {
          // Mostly old-first completions, with some random picks to reorder.
          const index = random() < 0.5 ? 0 : Math.floor(random() * pending.length);
          const [offset] = pending.splice(index, 1);
          if (!real.complete(offset.toString())) throw new Error(`seed ${seed}: complete(${offset}) refused`);
          model.complete(offset);
        } else {
          const offset = real.committable();
          if (offset !== null) {
            real.markCommitted(offset);
            model.markCommitted(BigInt(offset));
          }
        }
        const actual = [
          real.committable(),
          real.inFlight(),
          real.oldestPending(),
          rangesText(real.finishedAhead(1_000)),
        ];
        const expected = [
          model.committable(),
          model.inFlight(),
          model.oldestPending(),
          model.finishedAhead(),
        ];
        // One cheap comparison per step; expect() only on a mismatch, naming the seed to replay.
        if (actual.some((value, i) => value !== expected[i])) {
          expect({ seed, step, state: actual }).toEqual({ seed, step, state: expected });
        }
        checks++;
      }
    }
    expect(checks).toBe(200 * 300);
  });
});
