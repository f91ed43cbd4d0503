/**
 * When the next attempt of a failed delivery is due, and when to give up. Pure: the clock and the
 * random source are passed in.
 */

const JITTER = 0.2;

/** `baseDelayMs` spread uniformly over ±20% (whole milliseconds), so failed bursts do not retry in lockstep. */
export function jitteredDelayMs(baseDelayMs: number, random: () => number): number {
  if (!Number.isFinite(baseDelayMs) || baseDelayMs < 0) {
    throw new RangeError(`baseDelayMs must be a finite non-negative number, got ${baseDelayMs}`);
  }
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0.5;
  const min = baseDelayMs * (1 - JITTER);
  const max = baseDelayMs * (1 + JITTER);
  const jittered = Math.min(max, Math.max(min, baseDelayMs * (1 - JITTER + 2 * JITTER * unit)));
  // Whole milliseconds, unless the band is too narrow to hold one (sub-ms bases).
  const low = Math.ceil(min);
  const high = Math.floor(max);
  return low <= high ? Math.min(high, Math.max(low, Math.round(jittered))) : jittered;
}

const DELTA_SECONDS = /^\d+$/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
// RFC 9110 HTTP-date: IMF-fixdate, the obsolete RFC 850 form, and asctime.
const IMF_FIXDATE = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850_DATE = /^[A-Za-z]{6,9}, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE = /^[A-Za-z]{3} ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

function utcMs(year: number, monthName: string, day: number, hour: number, minute: number, second: number) {
  const month = MONTHS.indexOf(monthName.toLowerCase());
  if (month < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const ms = Date.UTC(year, month, day, hour, minute, second);
  // Reject dates Date.UTC silently rolled over, such as 31 Feb.
  return new Date(ms).getUTCDate() === day || second === 60 ? ms : null;
}

function parseHttpDate(value: string, nowMs: number): number | null {
  let m = IMF_FIXDATE.exec(value);
  if (m !== null) return utcMs(Number(m[3]), m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850_DATE.exec(value);
  if (m !== null) {
    // RFC 9110 5.6.7: a two-digit year more than 50 years in the future means the previous century.
    const nowYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(m[3]);
    if (year > nowYear + 50) year -= 100;
    return utcMs(year, m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME_DATE.exec(value);
  if (m !== null)
    return utcMs(Number(m[6]), m[1], Number(m[2].trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return null;
}

/**
 * The wait a `Retry-After` header asks for, in ms from `nowMs`: delta-seconds or an HTTP-date.
 * Null when absent, malformed, or in the past.
 */
export function parseRetryAfterMs(header: string | undefined, nowMs: number): number | null {
  if (header === undefined) return null;
  const value = header.trim();
  if (DELTA_SECONDS.test(value)) {
    const seconds = Number(value);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : null;
  }
  const dateMs = parseHttpDate(value, nowMs);
  if (dateMs === null) return null;
  const delta = dateMs - nowMs;
  return delta >= 0 ? delta : null;
}

export interface RetryPlanInput {
  /** The attempt that just failed, 1-based. */
  attempt: number;
  /** The delay of each retry tier, in order; tier i schedules attempt i + 2. */
  delaysMs: number[];
  firstAttemptAtMs: number;
  nowMs: number;
  /** A delivery older than this when its next attempt would be due goes to the dead-letter topic. */
  maxAgeMs: number;
  /** What the endpoint asked for with Retry-After, if anything. */
  retryAfterMs: number | null;
  /** The most of a Retry-After we honour, so an endpoint cannot park a delivery for a year. */
  retryAfterCapMs: number;
  random: () => number;
}

export type RetryPlan =
  | { kind: 'retry'; tierIndex: number; dueAtMs: number }
  | { kind: 'dead-letter'; reason: 'attempts_exhausted' | 'max_age_exceeded' };

export function planNextAttempt(input: RetryPlanInput): RetryPlan {
  const { attempt, delaysMs, firstAttemptAtMs, nowMs, maxAgeMs, retryAfterMs, retryAfterCapMs, random } =
    input;
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  }
  const tierIndex = attempt - 1;
  if (tierIndex >= delaysMs.length) return { kind: 'dead-letter', reason: 'attempts_exhausted' };

  const tierDelayMs = jitteredDelayMs(delaysMs[tierIndex], random);
  const requestedMs =
    retryAfterMs === null ? 0 : Math.min(Math.max(0, retryAfterMs), Math.max(0, retryAfterCapMs));
  // A longer Retry-After keeps the tier (the topic) but moves the due time later.
  const dueAtMs = nowMs + Math.max(tierDelayMs, requestedMs);
  if (dueAtMs - firstAttemptAtMs > maxAgeMs) return { kind: 'dead-letter', reason: 'max_age_exceeded' };
  return { kind: 'retry', tierIndex, dueAtMs };
}

/**
 * How long a delivery shed from a stalled lane waits in a retry tier: until the stuck attempt has
 * answered or timed out, at least as long as the lane has been stalled (a slow endpoint's backlog
 * does not cycle through the tiers), and at least as long as the endpoint has been failing, up to
 * the circuit's open period (a hanging endpoint's backlog backs off, about doubling each round,
 * instead of coming back every attempt timeout until enough timeouts open its circuit).
 */
export function shedWaitMs({
  stalledForMs,
  attemptTimeoutMs,
  failingForMs,
  circuitOpenMs,
}: {
  stalledForMs: number;
  attemptTimeoutMs: number;
  failingForMs: number | null;
  circuitOpenMs: number;
}): number {
  return Math.max(
    stalledForMs,
    attemptTimeoutMs - stalledForMs,
    failingForMs === null ? 0 : Math.min(failingForMs, circuitOpenMs),
  );
}
