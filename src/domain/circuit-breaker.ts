/**
 * The circuit of one endpoint. Closed: deliveries go through. After `failureThreshold` consecutive
 * failures it opens: deliveries wait in the retry tiers instead of hammering the endpoint. After
 * `openMs` it is half-open: one probe goes through; success closes it, failure re-opens it.
 *
 * Separately it tracks how long the endpoint has been failing, so a dead endpoint can be disabled.
 * Time is passed in; the breaker never reads a clock.
 */

/** The API's and the metrics' name for each state. */
export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  failureThreshold: number;
  openMs: number;
  disableAfterMs: number;
  /**
   * How long a half-open probe may stay unanswered before another is allowed, so a probe whose
   * outcome is lost (crash, rebalance) cannot hold the circuit shut forever. Defaults to
   * max(openMs, 60 s), comfortably above an HTTP attempt's timeout.
   */
  probeTimeoutMs?: number;
}

const DEFAULT_MIN_PROBE_TIMEOUT_MS = 60_000;

/**
 * What a circuit must carry to another process (the replica taking its endpoint over, or this one
 * after a restart): kept in PostgreSQL while the endpoint is failing (README decision 37). The
 * half-open probe in flight is not carried: the next owner may probe at once.
 */
export interface CircuitSnapshot {
  consecutiveFailures: number;
  failingSinceMs: number;
  lastFailureAtMs: number;
  openedAtMs: number | null;
}

export class CircuitBreaker {
  private readonly failureThreshold: number;
  private readonly openMs: number;
  private readonly disableAfterMs: number;
  private readonly probeTimeoutMs: number;

  private failures = 0;
  private failingSince: number | null = null;
  private lastFailureAt: number | null = null;
  private openedAt: number | null = null;
  private probeStartedAt: number | null = null;

  constructor(options: CircuitBreakerOptions) {
    const { failureThreshold, openMs, disableAfterMs } = options;
    if (!Number.isSafeInteger(failureThreshold) || failureThreshold < 1) {
      throw new RangeError(`failureThreshold must be a positive integer, got ${failureThreshold}`);
    }
    for (const [name, value] of Object.entries({ openMs, disableAfterMs })) {
      if (!(value >= 0)) throw new RangeError(`${name} must be a non-negative number, got ${value}`);
    }
    this.failureThreshold = failureThreshold;
    this.openMs = openMs;
    this.disableAfterMs = disableAfterMs;
    this.probeTimeoutMs = options.probeTimeoutMs ?? Math.max(openMs, DEFAULT_MIN_PROBE_TIMEOUT_MS);
  }

  /** Picks up a failing streak where another process left it. */
  restore(snapshot: CircuitSnapshot): void {
    this.failures = snapshot.consecutiveFailures;
    this.failingSince = snapshot.failingSinceMs;
    this.lastFailureAt = snapshot.lastFailureAtMs;
    this.openedAt = snapshot.openedAtMs;
    this.probeStartedAt = null;
  }

  /** The failing streak to keep, or null while the endpoint is not failing. */
  snapshot(): CircuitSnapshot | null {
    if (this.failingSince === null || this.lastFailureAt === null) return null;
    return {
      consecutiveFailures: this.failures,
      failingSinceMs: this.failingSince,
      lastFailureAtMs: this.lastFailureAt,
      openedAtMs: this.openedAt,
    };
  }

  state(nowMs: number): CircuitState {
    if (this.openedAt === null) return 'closed';
    return nowMs - this.openedAt >= this.openMs ? 'half_open' : 'open';
  }

  /** Whether {@link canAttempt} would refuse now (open, or half-open with its probe out); claims nothing. */
  isShut(nowMs: number): boolean {
    const state = this.state(nowMs);
    if (state === 'closed') return false;
    if (state === 'open') return true;
    return this.probeOut(nowMs);
  }

  /** Whether an attempt may go out now. In half-open state a `true` claims the single probe slot. */
  canAttempt(nowMs: number): boolean {
    switch (this.state(nowMs)) {
      case 'closed':
        return true;
      case 'open':
        return false;
      case 'half_open':
        if (this.probeOut(nowMs)) return false;
        this.probeStartedAt = nowMs;
        return true;
    }
  }

  recordSuccess(_nowMs: number): void {
    this.failures = 0;
    this.failingSince = null;
    this.lastFailureAt = null;
    this.openedAt = null;
    this.probeStartedAt = null;
  }

  recordFailure(nowMs: number): void {
    this.failures++;
    this.failingSince ??= nowMs;
    this.lastFailureAt = nowMs;
    const state = this.state(nowMs);
    if (state === 'half_open' || (state === 'closed' && this.failures >= this.failureThreshold)) {
      this.openedAt = nowMs;
      this.probeStartedAt = null;
    }
    // Already open: a late failure of an attempt sent before the circuit opened does not extend it.
  }

  /** When the open circuit lets a probe through, or null when it is closed. */
  reopensAtMs(): number | null {
    return this.openedAt === null ? null : this.openedAt + this.openMs;
  }

  /**
   * When a delivery turned away now should come back. Open: when the probe is let through. Half-open
   * with the probe out: when the probe must have answered (`probeAnswersWithinMs` after it started,
   * its attempt timeout), since coming back sooner only meets the same refusal; never later than
   * the probe timeout. Otherwise now.
   */
  nextChanceAtMs(nowMs: number, probeAnswersWithinMs: number): number {
    if (this.openedAt === null) return nowMs;
    if (this.state(nowMs) === 'open') return this.openedAt + this.openMs;
    if (this.probeStartedAt === null || !this.probeOut(nowMs)) return nowMs;
    const answered = this.probeStartedAt + Math.min(probeAnswersWithinMs, this.probeTimeoutMs);
    return Math.max(nowMs, answered);
  }

  /** A half-open probe has been let through and has neither answered nor timed out. */
  private probeOut(nowMs: number): boolean {
    return this.probeStartedAt !== null && nowMs - this.probeStartedAt < this.probeTimeoutMs;
  }

  /** Start of the current failing streak. */
  failingSinceMs(): number | null {
    return this.failingSince;
  }

  /** The latest failure of the current streak. */
  lastFailureAtMs(): number | null {
    return this.lastFailureAt;
  }

  shouldDisable(nowMs: number): boolean {
    return this.failingSince !== null && nowMs - this.failingSince > this.disableAfterMs;
  }

  consecutiveFailures(): number {
    return this.failures;
  }
}
