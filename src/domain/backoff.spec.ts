import {
  jitteredDelayMs,
  parseRetryAfterMs,
  planNextAttempt,
  shedWaitMs,
  type RetryPlanInput,
} from './backoff';

const constant = (value: number) => () => value;

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

describe('jitteredDelayMs', () => {
  it('spans 0.8x to 1.2x of the base', () => {
    expect(jitteredDelayMs(10_000, constant(0))).toBe(8_000);
    expect(jitteredDelayMs(10_000, constant(0.5))).toBe(10_000);
    expect(jitteredDelayMs(10_000, constant(0.999999))).toBe(12_000);
    expect(jitteredDelayMs(10_000, constant(1))).toBe(12_000);
  });

  it('clamps a misbehaving random source into the band', () => {
    expect(jitteredDelayMs(1000, constant(-5))).toBe(800);
    expect(jitteredDelayMs(1000, constant(7))).toBe(1200);
    expect(jitteredDelayMs(1000, constant(Number.NaN))).toBe(1000);
  });

  it('stays inside the band and in whole milliseconds for many bases and draws', () => {
    const random = mulberry32(3);
    for (let i = 0; i < 20_000; i++) {
      const base = i % 10 === 0 ? Math.floor(random() * 10) : Math.floor(random() * 86_400_000);
      const delay = jitteredDelayMs(base, random);
      if (delay < base * 0.8 || delay > base * 1.2 || !Number.isInteger(delay)) {
        throw new Error(`base ${base} gave ${delay}`);
      }
    }
  });

  it('never leaves the band even when whole milliseconds cannot fit in it', () => {
    for (const base of [0, 0.5, 1, 2, 3]) {
      for (const r of [0, 0.25, 0.5, 0.75, 1]) {
        const delay = jitteredDelayMs(base, constant(r));
        expect(delay).toBeGreaterThanOrEqual(base * 0.8);
        expect(delay).toBeLessThanOrEqual(base * 1.2);
      }
    }
  });

  it('spreads values across the band', () => {
    const random = mulberry32(5);
    const delays = Array.from({ length: 1000 }, () => jitteredDelayMs(1000, random));
    expect(Math.min(...delays)).toBeLessThan(820);
    expect(Math.max(...delays)).toBeGreaterThan(1180);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects the base %p', (base) => {
    expect(() => jitteredDelayMs(base, Math.random)).toThrow(RangeError);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.UTC(2024, 4, 1, 9, 30, 0);

  it.each([
    ['0', 0],
    ['1', 1000],
    ['120', 120_000],
    [' 30 ', 30_000],
    ['007', 7000],
  ])('reads delta-seconds %p', (header, expected) => {
    expect(parseRetryAfterMs(header, now)).toBe(expected);
  });

  it.each([
    ['IMF-fixdate', 'Wed, 01 May 2024 09:31:00 GMT', 60_000],
    ['IMF-fixdate, lower-case month', 'Wed, 01 may 2024 09:30:05 GMT', 5_000],
    ['RFC 850', 'Wednesday, 01-May-24 09:32:00 GMT', 120_000],
    ['asctime', 'Wed May  1 09:30:30 2024', 30_000],
    ['the current instant', 'Wed, 01 May 2024 09:30:00 GMT', 0],
  ])('reads an HTTP-date in %s form', (_label, header, expected) => {
    expect(parseRetryAfterMs(header, now)).toBe(expected);
  });

  it('measures an HTTP-date from the given now, not the wall clock', () => {
    expect(parseRetryAfterMs('Wed, 01 May 2024 10:30:00 GMT', now + 30 * 60_000)).toBe(30 * 60_000);
  });

  it('reads a two-digit RFC 850 year in the right century', () => {
    const in1999 = Date.UTC(1999, 11, 31, 23, 59, 0);
    expect(parseRetryAfterMs('Friday, 31-Dec-99 23:59:30 GMT', in1999)).toBe(30_000);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['negative', '-5'],
    ['fractional', '1.5'],
    ['exponent', '1e3'],
    ['words', 'soon'],
    ['a date in the past', 'Wed, 01 May 2024 09:29:59 GMT'],
    ['an impossible date', 'Fri, 31 Feb 2024 09:31:00 GMT'],
    ['a bad month', 'Wed, 01 Foo 2024 09:31:00 GMT'],
    ['a non-GMT zone', 'Wed, 01 May 2024 09:31:00 PST'],
    ['an ISO date', '2024-05-01T09:31:00Z'],
    ['too many digits to be exact', '9'.repeat(20)],
  ])('gives null when %s', (_label, header) => {
    expect(parseRetryAfterMs(header, now)).toBeNull();
  });
});

describe('planNextAttempt', () => {
  const tiers = [5_000, 30_000, 120_000, 900_000, 3_600_000, 21_600_000, 43_200_000];
  const t0 = 1_700_000_000_000;
  const base: RetryPlanInput = {
    attempt: 1,
    delaysMs: tiers,
    firstAttemptAtMs: t0,
    nowMs: t0,
    maxAgeMs: 24 * 3_600_000,
    retryAfterMs: null,
    retryAfterCapMs: 3_600_000,
    random: constant(0.5),
  };

  it('sends attempt N to tier N-1 after that tier delay', () => {
    expect(planNextAttempt(base)).toEqual({ kind: 'retry', tierIndex: 0, dueAtMs: t0 + 5_000 });
    expect(planNextAttempt({ ...base, attempt: 3, nowMs: t0 + 40_000 })).toEqual({
      kind: 'retry',
      tierIndex: 2,
      dueAtMs: t0 + 40_000 + 120_000,
    });
  });

  it('applies jitter to the tier delay', () => {
    expect(planNextAttempt({ ...base, random: constant(0) })).toMatchObject({ dueAtMs: t0 + 4_000 });
    expect(planNextAttempt({ ...base, random: constant(1) })).toMatchObject({ dueAtMs: t0 + 6_000 });
  });

  it('dead-letters once every tier has been used', () => {
    expect(planNextAttempt({ ...base, attempt: tiers.length })).toMatchObject({
      kind: 'retry',
      tierIndex: 6,
    });
    expect(planNextAttempt({ ...base, attempt: tiers.length + 1 })).toEqual({
      kind: 'dead-letter',
      reason: 'attempts_exhausted',
    });
    expect(planNextAttempt({ ...base, attempt: 1, delaysMs: [] })).toEqual({
      kind: 'dead-letter',
      reason: 'attempts_exhausted',
    });
  });

  it('keeps the tier but waits longer when Retry-After asks for more', () => {
    expect(planNextAttempt({ ...base, retryAfterMs: 60_000 })).toEqual({
      kind: 'retry',
      tierIndex: 0,
      dueAtMs: t0 + 60_000,
    });
  });

  it('ignores a Retry-After shorter than the tier delay', () => {
    expect(planNextAttempt({ ...base, attempt: 2, retryAfterMs: 1_000 })).toEqual({
      kind: 'retry',
      tierIndex: 1,
      dueAtMs: t0 + 30_000,
    });
  });

  it('caps Retry-After', () => {
    expect(planNextAttempt({ ...base, retryAfterMs: 10 * 3_600_000 })).toEqual({
      kind: 'retry',
      tierIndex: 0,
      dueAtMs: t0 + 3_600_000,
    });
  });

  it('dead-letters when the next attempt would fall past the maximum age', () => {
    const lastMinute = { ...base, attempt: 7, nowMs: t0 + 23 * 3_600_000 };
    expect(planNextAttempt(lastMinute)).toEqual({ kind: 'dead-letter', reason: 'max_age_exceeded' });
    expect(planNextAttempt({ ...lastMinute, attempt: 1 })).toMatchObject({ kind: 'retry' });
  });

  it('counts a long Retry-After against the maximum age', () => {
    const late = { ...base, nowMs: t0 + 23.5 * 3_600_000, retryAfterMs: 3_600_000 };
    expect(planNextAttempt(late)).toEqual({ kind: 'dead-letter', reason: 'max_age_exceeded' });
  });

  it('allows a due time exactly at the maximum age', () => {
    const edge = { ...base, nowMs: t0 + base.maxAgeMs - 5_000 };
    expect(planNextAttempt(edge)).toEqual({ kind: 'retry', tierIndex: 0, dueAtMs: t0 + base.maxAgeMs });
    expect(planNextAttempt({ ...edge, nowMs: edge.nowMs + 1 })).toEqual({
      kind: 'dead-letter',
      reason: 'max_age_exceeded',
    });
  });

  it('reports exhausted attempts before age', () => {
    expect(planNextAttempt({ ...base, attempt: 99, nowMs: t0 + 10 * base.maxAgeMs })).toEqual({
      kind: 'dead-letter',
      reason: 'attempts_exhausted',
    });
  });

  it('walks the default schedule to the dead-letter topic in about a day', () => {
    const random = mulberry32(9);
    let now = t0;
    const plans = [];
    for (let attempt = 1; ; attempt++) {
      const plan = planNextAttempt({ ...base, attempt, nowMs: now, random });
      plans.push(plan);
      if (plan.kind === 'dead-letter') break;
      expect(plan.tierIndex).toBe(attempt - 1);
      expect(plan.dueAtMs).toBeGreaterThan(now);
      now = plan.dueAtMs;
    }
    expect(plans).toHaveLength(tiers.length + 1);
    expect(plans.at(-1)).toEqual({ kind: 'dead-letter', reason: 'attempts_exhausted' });
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects attempt %p', (attempt) => {
    expect(() => planNextAttempt({ ...base, attempt })).toThrow(RangeError);
  });
});

describe('shedWaitMs', () => {
  const base = { attemptTimeoutMs: 5_000, failingForMs: null, circuitOpenMs: 30_000 };

  it('waits until the stuck attempt has timed out, and at least as long as the lane has stalled', () => {
    expect(shedWaitMs({ ...base, stalledForMs: 1_000 })).toBe(4_000);
    expect(shedWaitMs({ ...base, stalledForMs: 8_000 })).toBe(8_000);
  });

  it('backs off as long as the endpoint has been failing, doubling round by round', () => {
    // A hanging endpoint: each round its records come back, the lane stalls for 1 s again.
    let failingForMs = 1_000;
    const waits: number[] = [];
    for (let round = 0; round < 5; round++) {
      const wait = shedWaitMs({ ...base, stalledForMs: 1_000, failingForMs });
      waits.push(wait);
      failingForMs += wait + 1_000;
    }
    expect(waits).toEqual([4_000, 6_000, 13_000, 27_000, 30_000]);
  });

  it('never waits longer for failing than the circuit stays open', () => {
    expect(shedWaitMs({ ...base, stalledForMs: 1_000, failingForMs: 86_400_000 })).toBe(30_000);
  });
});
