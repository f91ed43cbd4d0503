/**
 * What becomes of a delivery each time Hookstream handles it: one {@link Settlement} per attempt,
 * or per decision not to attempt. These functions decide it from the attempt's outcome, the
 * delivery's state, the endpoint's health and the schedule; the settler (src/delivery/settler.ts)
 * applies it. Pure: the clock and the random source are passed in.
 */
import type { AttemptOutcome } from './attempt-outcome';
import { jitteredDelayMs, planNextAttempt } from './backoff';
import type { DeadLetterReason } from './dead-letter';
import type { AttemptState } from './delivery-task';
import type { OrderingMode } from './endpoint-snapshot';

/** The retry schedule and its limits, from the configuration. */
export interface RetryPolicy {
  /** The delay of each retry tier, in tier order; tier i schedules attempt i + 2. */
  tierDelaysMs: readonly number[];
  /** A delivery older than this is dead-lettered whatever its attempt count. */
  maxAttemptAgeMs: number;
  /** The longest Retry-After honoured. */
  retryAfterCapMs: number;
}

/** What led to a settlement: an HTTP attempt, or the reason none was made. */
export type Occasion =
  | 'attempted'
  /** The endpoint's circuit refuses attempts. */
  | 'circuit_open'
  /** The endpoint's lane has started nothing for a while (it hangs or is far slower than its traffic). */
  | 'lane_stalled'
  /** A retry record read before its due time (a long wait hops to a longer tier). */
  | 'not_due'
  /** The endpoint no longer exists. */
  | 'endpoint_gone'
  /** The endpoint is disabled. */
  | 'endpoint_disabled'
  /** The endpoint exists but cannot be delivered to (its secret does not decrypt). */
  | 'endpoint_unreadable';

export type Settlement =
  | { kind: 'delivered'; occasion: 'attempted' }
  /** Written to retry tier `tier`, due at `state.dueAtMs`. */
  | { kind: 'retry'; occasion: Occasion; tier: number; state: AttemptState }
  /**
   * Held in PostgreSQL until the endpoint can take it; if that write fails, it waits in retry tier
   * `orTier` until `orRetryAtMs` instead.
   */
  | { kind: 'hold'; occasion: Occasion; state: AttemptState; orTier: number; orRetryAtMs: number }
  | { kind: 'dead-letter'; occasion: Occasion; reason: DeadLetterReason; detail: string; state: AttemptState }
  /** The endpoint is disabled for `reason` (410 Gone); the delivery is dead-lettered as `endpoint_disabled`. */
  | { kind: 'disable'; occasion: 'attempted'; reason: string; detail: string; state: AttemptState }
  | { kind: 'drop'; occasion: 'endpoint_gone' };

/** What to do with a delivery record as it arrives, before its endpoint's lane. */
export type Arrival =
  | { kind: 'attempt' }
  /** Strict ordering: the attempt goes through the endpoint's parking lot, one at a time. */
  | { kind: 'attempt-strict' }
  | { kind: 'settle'; settlement: Settlement };

export interface ArrivalInput {
  /** A first attempt (the deliveries topic) or a record from a retry tier. */
  source: 'first' | 'retry';
  state: AttemptState;
  nowMs: number;
  /** The endpoint as this process knows it; undefined when it no longer exists. */
  endpoint: { enabled: boolean; ordering: OrderingMode; problem: string | null } | undefined;
  /** Whether the endpoint's circuit refuses attempts now, and when it may look again. */
  circuit: { shut: boolean; nextChanceAtMs: number };
  policy: RetryPolicy;
  random: () => number;
}

export function onArrival(input: ArrivalInput): Arrival {
  const { source, state, nowMs, endpoint, circuit, policy } = input;
  if (source === 'retry' && state.dueAtMs !== null && state.dueAtMs > nowMs) {
    const settlement: Settlement = {
      kind: 'retry',
      occasion: 'not_due',
      tier: tierFor(state.dueAtMs - nowMs, policy.tierDelaysMs),
      state,
    };
    return { kind: 'settle', settlement };
  }
  if (endpoint === undefined)
    return { kind: 'settle', settlement: { kind: 'drop', occasion: 'endpoint_gone' } };
  if (!endpoint.enabled) {
    const settlement: Settlement = {
      kind: 'dead-letter',
      occasion: 'endpoint_disabled',
      reason: 'endpoint_disabled',
      detail: 'endpoint is disabled',
      state,
    };
    return { kind: 'settle', settlement };
  }
  if (endpoint.problem !== null) {
    const settlement: Settlement = {
      kind: 'dead-letter',
      occasion: 'endpoint_unreadable',
      reason: 'endpoint_unreadable',
      detail: endpoint.problem,
      state,
    };
    return { kind: 'settle', settlement };
  }
  if (endpoint.ordering === 'strict') return { kind: 'attempt-strict' };
  if (circuit.shut) {
    // No need to queue behind the lane just to be turned away there one at a time.
    return {
      kind: 'settle',
      settlement: turnedAway({
        occasion: 'circuit_open',
        why: 'circuit open',
        state,
        nowMs,
        notBeforeMs: circuit.nextChanceAtMs,
        canHold: true,
        policy,
        random: input.random,
      }),
    };
  }
  return { kind: 'attempt' };
}

export interface AfterAttemptInput {
  outcome: AttemptOutcome;
  /** The state the attempt was made in, `firstAttemptAtMs` set. */
  state: AttemptState;
  nowMs: number;
  policy: RetryPolicy;
  random: () => number;
}

/** After an HTTP attempt: delivered, the next tier, the dead-letter topic, or the endpoint disabled. */
export function afterAttempt(input: AfterAttemptInput): Settlement {
  const { outcome, state, nowMs, policy, random } = input;
  if (outcome.kind === 'delivered') return { kind: 'delivered', occasion: 'attempted' };
  // Attempted: no longer a held delivery's release (`origin` says how a record came, until it is tried).
  const failed: AttemptState = {
    ...state,
    lastError: outcome.error,
    lastStatus: outcome.status,
    origin: null,
  };
  if (outcome.disableEndpoint) {
    return {
      kind: 'disable',
      occasion: 'attempted',
      reason: `endpoint answered ${outcome.error}; disabled`,
      detail: outcome.error,
      state: failed,
    };
  }
  const plan = planNextAttempt({
    attempt: state.attempt,
    delaysMs: [...policy.tierDelaysMs],
    firstAttemptAtMs: state.firstAttemptAtMs ?? nowMs,
    nowMs,
    maxAgeMs: policy.maxAttemptAgeMs,
    retryAfterMs: outcome.retryAfterMs,
    retryAfterCapMs: policy.retryAfterCapMs,
    random,
  });
  if (plan.kind === 'dead-letter') {
    return {
      kind: 'dead-letter',
      occasion: 'attempted',
      reason: plan.reason,
      detail: outcome.error,
      state: failed,
    };
  }
  return {
    kind: 'retry',
    occasion: 'attempted',
    tier: plan.tierIndex,
    state: { ...failed, attempt: state.attempt + 1, dueAtMs: plan.dueAtMs },
  };
}

export interface TurnedAwayInput {
  occasion: 'circuit_open' | 'lane_stalled';
  /** Stands in as the delivery's last error when it has none yet. */
  why: string;
  state: AttemptState;
  nowMs: number;
  /** The earliest time another try can meet a different answer. */
  notBeforeMs: number;
  /** Strict endpoints keep their order in their own parking lot and wait in the tiers instead. */
  canHold: boolean;
  policy: RetryPolicy;
  random: () => number;
}

/**
 * Not attempted now; no attempt is counted. The delivery is held in PostgreSQL until its endpoint
 * can take it (or waits in a tier until `notBeforeMs`), unless it is past the maximum age. Its age
 * clock starts when it is first turned away, if no attempt started it.
 */
export function turnedAway(input: TurnedAwayInput): Settlement {
  const { occasion, why, state, nowMs, notBeforeMs, canHold, policy, random } = input;
  if (nowMs - (state.firstAttemptAtMs ?? nowMs) > policy.maxAttemptAgeMs) {
    return {
      kind: 'dead-letter',
      occasion,
      reason: 'max_age_exceeded',
      detail: state.lastError ?? why,
      state,
    };
  }
  const waiting: AttemptState = {
    ...state,
    firstAttemptAtMs: state.firstAttemptAtMs ?? nowMs,
    lastError: state.lastError ?? why,
  };
  const tier = tierFor(Math.max(0, notBeforeMs - nowMs), policy.tierDelaysMs);
  const dueAtMs = Math.max(notBeforeMs, nowMs + jitteredDelayMs(policy.tierDelaysMs[tier], random));
  if (canHold) {
    return {
      kind: 'hold',
      occasion,
      state: { ...waiting, dueAtMs: null },
      orTier: tier,
      orRetryAtMs: dueAtMs,
    };
  }
  return { kind: 'retry', occasion, tier, state: { ...waiting, dueAtMs } };
}

/**
 * The tier with the longest delay not past `waitMs` (the shortest tier when none fits): a delivery
 * due far later than its tier's delay hops between tiers instead of holding a tier's window.
 */
export function tierFor(waitMs: number, tierDelaysMs: readonly number[]): number {
  let best = -1;
  let shortest = 0;
  tierDelaysMs.forEach((delayMs, index) => {
    if (delayMs < tierDelaysMs[shortest]) shortest = index;
    if (delayMs <= waitMs && (best < 0 || delayMs > tierDelaysMs[best])) best = index;
  });
  return best < 0 ? shortest : best;
}

/**
 * When a record read from a tier may be handled: its due time, but never later than 1.25 × the
 * tier's delay after it was written, so a record due much later (a long Retry-After) moves on to a
 * longer tier instead of holding the records behind it (README decision 11).
 */
export function tierReadyAtMs(
  dueAtHeader: string | undefined,
  writtenAtMs: number,
  tierDelayMs: number,
): number {
  return Math.min(Number(dueAtHeader ?? 0), writtenAtMs + Math.ceil(tierDelayMs * 1.25));
}

/** Held deliveries handed back at once to an endpoint that is not failing. */
export const HELD_RELEASE_BATCH = 500;

/**
 * How many of an endpoint's held deliveries may go back now: none while it cannot take them (its
 * circuit refuses attempts or its lane hangs or is overloaded); one while it is failing (the probe,
 * once its lane is idle); otherwise a batch, cut to what a slow lane can take without shedding
 * (`laneHeadroom`): a larger batch would only be turned away and held again.
 */
export function heldReleaseQuota(input: {
  unavailable: boolean;
  failing: boolean;
  laneIdle: boolean;
  laneHeadroom: number;
}): number {
  if (input.unavailable) return 0;
  if (!input.failing) return Math.max(0, Math.min(HELD_RELEASE_BATCH, Math.floor(input.laneHeadroom)));
  return input.laneIdle ? 1 : 0;
}
