import { LRUCache } from 'lru-cache';

/**
 * A brake on guessing credentials: at most `limit` failed authentications per subject (a client
 * address, a presented key's digest) in each window of `windowMs`. Past it, `check` refuses until
 * the window ends, before anything is looked up, so a guess past the limit costs no database query.
 * Only failures count: a client with a good key is never slowed by its own traffic. Memory is bounded:
 * past `maxSubjects` the oldest subjects are forgotten (an attacker rotating addresses that fast is
 * not stopped by per-address limits anyway).
 */
export class AuthFailureLimiter {
  /** Oldest window first out; lru-cache evicts in constant time where a Map's keys().next() does not. */
  private readonly windows: LRUCache<string, { startMs: number; failures: number }>;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    maxSubjects = 100_000,
  ) {
    this.windows = new LRUCache({ max: maxSubjects });
  }

  /** 0 when `subject` may try now; otherwise milliseconds until it may. */
  retryAfterMs(subject: string, nowMs: number): number {
    const window = this.windows.peek(subject);
    if (!window || nowMs - window.startMs >= this.windowMs || window.failures < this.limit) return 0;
    return window.startMs + this.windowMs - nowMs;
  }

  recordFailure(subject: string, nowMs: number): void {
    const window = this.windows.peek(subject);
    if (window && nowMs - window.startMs < this.windowMs) {
      window.failures += 1;
      return;
    }
    // A new window is the newest entry; past maxSubjects the oldest one goes.
    this.windows.set(subject, { startMs: nowMs, failures: 1 });
  }

  /**
   * Takes back one failure recorded in the current window: callers record an attempt as a failure
   * before looking it up (so concurrent attempts cannot all pass the check) and forgive it on success.
   */
  forgive(subject: string, nowMs: number): void {
    const window = this.windows.peek(subject);
    if (window && nowMs - window.startMs < this.windowMs && window.failures > 0) window.failures -= 1;
  }

  /** Subjects remembered now (a gauge). */
  get size(): number {
    return this.windows.size;
  }
}
