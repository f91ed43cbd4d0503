import type { AttemptOutcome } from './attempt-outcome';
import { FIRST_ATTEMPT, type AttemptState } from './delivery-task';
import {
  afterAttempt,
  heldReleaseQuota,
  HELD_RELEASE_BATCH,
  onArrival,
  tierFor,
  tierReadyAtMs,
  turnedAway,
  type ArrivalInput,
  type RetryPolicy,
} from './settlement';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const SECOND = 1_000;
const HOUR = 3_600_000;
const policy: RetryPolicy = {
  tierDelaysMs: [5 * SECOND, 30 * SECOND, 120 * SECOND],
  maxAttemptAgeMs: 48 * HOUR,
  retryAfterCapMs: HOUR,
};
/** The middle of the jitter band: every jittered delay is its base delay. */
const middle = () => 0.5;

const failed = (overrides: Partial<Extract<AttemptOutcome, { kind: 'failed' }>> = {}): AttemptOutcome => ({
  kind: 'failed',
  status: 500,
  error: 'HTTP 500',
  retryAfterMs: null,
  disableEndpoint: false,
  ...overrides,
});

const state = (overrides: Partial<AttemptState> = {}): AttemptState => ({ ...FIRST_ATTEMPT, ...overrides });

function arrival(overrides: Partial<ArrivalInput> = {}) {
  return onArrival({
    source: 'first',
    state: state(),
    nowMs: NOW,
    endpoint: { enabled: true, ordering: 'none', problem: null },
    circuit: { shut: false, nextChanceAtMs: NOW },
    policy,
    random: middle,
    ...overrides,
  });
}

describe('onArrival', () => {
  it('attempts a first delivery to an enabled endpoint with a closed circuit', () => {
    expect(arrival()).toEqual({ kind: 'attempt' });
  });

  it('moves a retry read before its due time to the tier its remaining wait fits, unchanged', () => {
    const early = state({ attempt: 3, dueAtMs: NOW + 40 * SECOND, lastError: 'HTTP 503' });
    expect(arrival({ source: 'retry', state: early })).toEqual({
      kind: 'settle',
      settlement: { kind: 'retry', occasion: 'not_due', tier: 1, state: early },
    });
  });

  it('does not treat a first attempt as early, whatever its headers say', () => {
    expect(arrival({ source: 'first', state: state({ dueAtMs: NOW + HOUR }) })).toEqual({ kind: 'attempt' });
  });

  it('drops a delivery whose endpoint no longer exists', () => {
    expect(arrival({ endpoint: undefined })).toEqual({
      kind: 'settle',
      settlement: { kind: 'drop', occasion: 'endpoint_gone' },
    });
  });

  it('dead-letters a delivery to a disabled endpoint', () => {
    const result = arrival({ endpoint: { enabled: false, ordering: 'none', problem: null } });
    expect(result).toMatchObject({
      kind: 'settle',
      settlement: { kind: 'dead-letter', occasion: 'endpoint_disabled', reason: 'endpoint_disabled' },
    });
  });

  it('dead-letters a delivery to an endpoint that cannot be used, with the problem as detail', () => {
    const problem = 'signing secret does not decrypt with the configured keys';
    expect(arrival({ endpoint: { enabled: true, ordering: 'none', problem } })).toMatchObject({
      kind: 'settle',
      settlement: { kind: 'dead-letter', reason: 'endpoint_unreadable', detail: problem },
    });
  });

  it('sends a strict endpoint through its parking lot, even with the circuit open', () => {
    const result = arrival({
      endpoint: { enabled: true, ordering: 'strict', problem: null },
      circuit: { shut: true, nextChanceAtMs: NOW + 30 * SECOND },
    });
    expect(result).toEqual({ kind: 'attempt-strict' });
  });

  it('holds a delivery whose endpoint circuit is open, without queueing it in the lane', () => {
    const result = arrival({ circuit: { shut: true, nextChanceAtMs: NOW + 30 * SECOND } });
    expect(result).toEqual({
      kind: 'settle',
      settlement: {
        kind: 'hold',
        occasion: 'circuit_open',
        state: state({ firstAttemptAtMs: NOW, lastError: 'circuit open' }),
        orTier: 1,
        orRetryAtMs: NOW + 30 * SECOND,
      },
    });
  });
});

describe('afterAttempt', () => {
  const attempted = state({ firstAttemptAtMs: NOW });

  it('settles a 2xx as delivered', () => {
    const outcome: AttemptOutcome = { kind: 'delivered', status: 204 };
    expect(afterAttempt({ outcome, state: attempted, nowMs: NOW, policy, random: middle })).toEqual({
      kind: 'delivered',
      occasion: 'attempted',
    });
  });

  it('schedules the next attempt in the tier of this attempt number, jittered around its delay', () => {
    const settlement = afterAttempt({
      outcome: failed(),
      state: attempted,
      nowMs: NOW,
      policy,
      random: middle,
    });
    expect(settlement).toEqual({
      kind: 'retry',
      occasion: 'attempted',
      tier: 0,
      state: { ...attempted, attempt: 2, dueAtMs: NOW + 5 * SECOND, lastError: 'HTTP 500', lastStatus: 500 },
    });
    const early = afterAttempt({ outcome: failed(), state: attempted, nowMs: NOW, policy, random: () => 0 });
    const late = afterAttempt({ outcome: failed(), state: attempted, nowMs: NOW, policy, random: () => 1 });
    expect(early).toMatchObject({ state: { dueAtMs: NOW + 4 * SECOND } });
    expect(late).toMatchObject({ state: { dueAtMs: NOW + 6 * SECOND } });
  });

  it('keeps the tier but honours a longer Retry-After, up to the cap', () => {
    const asked = afterAttempt({
      outcome: failed({ status: 429, retryAfterMs: 90 * SECOND }),
      state: attempted,
      nowMs: NOW,
      policy,
      random: middle,
    });
    expect(asked).toMatchObject({ kind: 'retry', tier: 0, state: { dueAtMs: NOW + 90 * SECOND } });
    const greedy = afterAttempt({
      outcome: failed({ status: 503, retryAfterMs: 30 * HOUR }),
      state: attempted,
      nowMs: NOW,
      policy,
      random: middle,
    });
    expect(greedy).toMatchObject({ state: { dueAtMs: NOW + HOUR } });
  });

  it('dead-letters once every tier has been tried (attempts_exhausted)', () => {
    const last = state({ attempt: 4, firstAttemptAtMs: NOW - HOUR });
    expect(afterAttempt({ outcome: failed(), state: last, nowMs: NOW, policy, random: middle })).toEqual({
      kind: 'dead-letter',
      occasion: 'attempted',
      reason: 'attempts_exhausted',
      detail: 'HTTP 500',
      state: { ...last, lastError: 'HTTP 500', lastStatus: 500 },
    });
  });

  it('dead-letters when the next attempt would come after the maximum age (max_age_exceeded)', () => {
    const old = state({ attempt: 2, firstAttemptAtMs: NOW - 48 * HOUR + SECOND });
    expect(afterAttempt({ outcome: failed(), state: old, nowMs: NOW, policy, random: middle })).toMatchObject(
      {
        kind: 'dead-letter',
        reason: 'max_age_exceeded',
      },
    );
  });

  it('disables the endpoint on 410 Gone and dead-letters the delivery', () => {
    const gone = failed({ status: 410, error: 'HTTP 410', disableEndpoint: true });
    expect(afterAttempt({ outcome: gone, state: attempted, nowMs: NOW, policy, random: middle })).toEqual({
      kind: 'disable',
      occasion: 'attempted',
      reason: 'endpoint answered HTTP 410; disabled',
      detail: 'HTTP 410',
      state: { ...attempted, lastError: 'HTTP 410', lastStatus: 410 },
    });
  });

  it('counts the maximum age from now when the state has no first attempt yet', () => {
    const settlement = afterAttempt({
      outcome: failed(),
      state: state(),
      nowMs: NOW,
      policy,
      random: middle,
    });
    expect(settlement).toMatchObject({ kind: 'retry', tier: 0 });
  });
});

describe('turnedAway', () => {
  const base = {
    occasion: 'lane_stalled' as const,
    why: 'endpoint lane stalled for 1200 ms',
    nowMs: NOW,
    notBeforeMs: NOW + 40 * SECOND,
    canHold: true,
    policy,
    random: middle,
  };

  it('holds the delivery, starting its age clock and giving the reason as its last error', () => {
    expect(turnedAway({ ...base, state: state() })).toEqual({
      kind: 'hold',
      occasion: 'lane_stalled',
      state: state({ firstAttemptAtMs: NOW, lastError: 'endpoint lane stalled for 1200 ms' }),
      orTier: 1,
      orRetryAtMs: NOW + 40 * SECOND,
    });
  });

  it('keeps the attempt count, the first attempt time and a real last error', () => {
    const tried = state({ attempt: 3, firstAttemptAtMs: NOW - HOUR, lastError: 'timeout', lastStatus: null });
    expect(turnedAway({ ...base, state: tried })).toMatchObject({
      kind: 'hold',
      state: { attempt: 3, firstAttemptAtMs: NOW - HOUR, lastError: 'timeout', dueAtMs: null },
    });
  });

  it('sends a strict delivery to a tier instead, due no sooner than the endpoint can answer', () => {
    const settlement = turnedAway({
      ...base,
      occasion: 'circuit_open',
      why: 'circuit open',
      state: state(),
      canHold: false,
    });
    expect(settlement).toEqual({
      kind: 'retry',
      occasion: 'circuit_open',
      tier: 1,
      state: state({ firstAttemptAtMs: NOW, lastError: 'circuit open', dueAtMs: NOW + 40 * SECOND }),
    });
  });

  it('waits at least one jittered delay of the chosen tier when the endpoint could answer sooner', () => {
    const settlement = turnedAway({ ...base, notBeforeMs: NOW, state: state(), canHold: false });
    expect(settlement).toMatchObject({ tier: 0, state: { dueAtMs: NOW + 5 * SECOND } });
  });

  it('dead-letters a delivery already past the maximum age', () => {
    const old = state({ attempt: 2, firstAttemptAtMs: NOW - 49 * HOUR, lastError: 'HTTP 502' });
    expect(turnedAway({ ...base, state: old })).toEqual({
      kind: 'dead-letter',
      occasion: 'lane_stalled',
      reason: 'max_age_exceeded',
      detail: 'HTTP 502',
      state: old,
    });
  });
});

describe('tierFor', () => {
  it.each([
    [0, 0],
    [4_999, 0],
    [5_000, 0],
    [29_999, 0],
    [30_000, 1],
    [119_000, 1],
    [10 * HOUR, 2],
  ])('a wait of %p ms goes to tier %p', (waitMs, tier) => {
    expect(tierFor(waitMs, policy.tierDelaysMs)).toBe(tier);
  });

  it('finds the fitting tier when tiers are not listed in order of delay', () => {
    expect(tierFor(0, [30_000, 5_000])).toBe(1);
    expect(tierFor(40_000, [30_000, 5_000])).toBe(0);
  });
});

describe('tierReadyAtMs', () => {
  it('is the due time while it falls within 1.25 tier delays of the write', () => {
    expect(tierReadyAtMs(String(NOW + 4_000), NOW, 5_000)).toBe(NOW + 4_000);
  });

  it('caps a far due time so the record hops on to a longer tier', () => {
    expect(tierReadyAtMs(String(NOW + HOUR), NOW, 5_000)).toBe(NOW + 6_250);
  });

  it('is due at once without a due-time header', () => {
    expect(tierReadyAtMs(undefined, NOW, 5_000)).toBe(0);
  });
});

describe('heldReleaseQuota', () => {
  it('releases nothing while the endpoint cannot take deliveries', () => {
    expect(
      heldReleaseQuota({ unavailable: true, failing: false, laneIdle: true, laneHeadroom: Infinity }),
    ).toBe(0);
  });

  it('releases one probe while the endpoint is failing and its lane is idle, none while busy', () => {
    expect(
      heldReleaseQuota({ unavailable: false, failing: true, laneIdle: true, laneHeadroom: Infinity }),
    ).toBe(1);
    expect(
      heldReleaseQuota({ unavailable: false, failing: true, laneIdle: false, laneHeadroom: Infinity }),
    ).toBe(0);
  });

  it("cuts the batch to a slow lane's headroom", () => {
    const quota = (laneHeadroom: number) =>
      heldReleaseQuota({ unavailable: false, failing: false, laneIdle: false, laneHeadroom });
    expect(quota(166)).toBe(166);
    expect(quota(0)).toBe(0);
    expect(quota(10_000)).toBe(HELD_RELEASE_BATCH);
  });

  it('releases a batch once the endpoint is not failing', () => {
    expect(
      heldReleaseQuota({ unavailable: false, failing: false, laneIdle: false, laneHeadroom: Infinity }),
    ).toBe(HELD_RELEASE_BATCH);
  });
});
