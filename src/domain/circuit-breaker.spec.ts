import { CircuitBreaker } from './circuit-breaker';

const T0 = 1_700_000_000_000;
const options = { failureThreshold: 3, openMs: 30_000, disableAfterMs: 5 * 86_400_000 };

function failTimes(breaker: CircuitBreaker, count: number, atMs: number): void {
  for (let i = 0; i < count; i++) breaker.recordFailure(atMs);
}

describe('CircuitBreaker', () => {
  it('starts closed and lets attempts through', () => {
    const breaker = new CircuitBreaker(options);
    expect(breaker.state(T0)).toBe('closed');
    expect(breaker.canAttempt(T0)).toBe(true);
    expect(breaker.canAttempt(T0)).toBe(true);
    expect(breaker.consecutiveFailures()).toBe(0);
    expect(breaker.failingSinceMs()).toBeNull();
    expect(breaker.reopensAtMs()).toBeNull();
  });

  it('opens after the threshold of consecutive failures, not before', () => {
    const breaker = new CircuitBreaker(options);
    failTimes(breaker, 2, T0);
    expect(breaker.state(T0)).toBe('closed');
    expect(breaker.canAttempt(T0)).toBe(true);
    breaker.recordFailure(T0 + 1);
    expect(breaker.state(T0 + 1)).toBe('open');
    expect(breaker.canAttempt(T0 + 1)).toBe(false);
    expect(breaker.consecutiveFailures()).toBe(3);
    expect(breaker.reopensAtMs()).toBe(T0 + 1 + 30_000);
  });

  it('tells whether it is shut without claiming the half-open probe', () => {
    const breaker = new CircuitBreaker(options);
    expect(breaker.isShut(T0)).toBe(false);
    failTimes(breaker, 3, T0);
    expect(breaker.isShut(T0 + 29_999)).toBe(true);
    const halfOpen = T0 + 30_000;
    expect(breaker.isShut(halfOpen)).toBe(false);
    expect(breaker.isShut(halfOpen)).toBe(false);
    expect(breaker.canAttempt(halfOpen)).toBe(true);
    expect(breaker.isShut(halfOpen + 1)).toBe(true);
    expect(breaker.canAttempt(halfOpen + 1)).toBe(false);
  });

  it('counts only consecutive failures', () => {
    const breaker = new CircuitBreaker(options);
    failTimes(breaker, 2, T0);
    breaker.recordSuccess(T0);
    failTimes(breaker, 2, T0);
    expect(breaker.state(T0)).toBe('closed');
    expect(breaker.consecutiveFailures()).toBe(2);
  });

  it('stays open for openMs, then lets exactly one probe through', () => {
    const breaker = new CircuitBreaker(options);
    failTimes(breaker, 3, T0);
    expect(breaker.canAttempt(T0 + 29_999)).toBe(false);
    expect(breaker.state(T0 + 30_000)).toBe('half_open');
    expect(breaker.canAttempt(T0 + 30_000)).toBe(true);
    expect(breaker.canAttempt(T0 + 30_000)).toBe(false);
    expect(breaker.canAttempt(T0 + 40_000)).toBe(false);
    expect(breaker.state(T0 + 40_000)).toBe('half_open');
  });

  it('closes when the probe succeeds', () => {
    const breaker = new CircuitBreaker(options);
    failTimes(breaker, 3, T0);
    expect(breaker.canAttempt(T0 + 30_000)).toBe(true);
    breaker.recordSuccess(T0 + 30_500);
    expect(breaker.state(T0 + 30_500)).toBe('closed');
    expect(breaker.canAttempt(T0 + 30_500)).toBe(true);
    expect(breaker.canAttempt(T0 + 30_500)).toBe(true);
    expect(breaker.consecutiveFailures()).toBe(0);
    expect(breaker.failingSinceMs()).toBeNull();
    expect(breaker.lastFailureAtMs()).toBeNull();
  });

  it('re-opens for another full period when the probe fails', () => {
    const breaker = new CircuitBreaker(options);
    failTimes(breaker, 3, T0);
    expect(breaker.canAttempt(T0 + 30_000)).toBe(true);
    breaker.recordFailure(T0 + 31_000);
    expect(breaker.state(T0 + 31_000)).toBe('open');
    expect(breaker.canAttempt(T0 + 60_999)).toBe(false);
    expect(breaker.reopensAtMs()).toBe(T0 + 61_000);
    expect(breaker.canAttempt(T0 + 61_000)).toBe(true);
    expect(breaker.canAttempt(T0 + 61_000)).toBe(false);
  });

  it('does not extend the open period for late failures of attempts sent before it opened', () => {
    const breaker = new CircuitBreaker(options);
    failTimes(breaker, 3, T0);
    breaker.recordFailure(T0 + 20_000);
    expect(breaker.reopensAtMs()).toBe(T0 + 30_000);
    expect(breaker.consecutiveFailures()).toBe(4);
  });

  it('sends a turned-away delivery back when the probe is let through, or once the probe has answered', () => {
    const breaker = new CircuitBreaker({ ...options, probeTimeoutMs: 20_000 });
    expect(breaker.nextChanceAtMs(T0, 5_000)).toBe(T0);
    failTimes(breaker, 3, T0);
    expect(breaker.nextChanceAtMs(T0 + 1_000, 5_000)).toBe(T0 + 30_000);
    // Half-open, nobody probing yet: now.
    expect(breaker.nextChanceAtMs(T0 + 30_000, 5_000)).toBe(T0 + 30_000);
    expect(breaker.canAttempt(T0 + 30_000)).toBe(true);
    // The probe is out: not before it has answered or timed out, however often asked.
    expect(breaker.nextChanceAtMs(T0 + 30_001, 5_000)).toBe(T0 + 35_000);
    expect(breaker.nextChanceAtMs(T0 + 34_000, 5_000)).toBe(T0 + 35_000);
    expect(breaker.nextChanceAtMs(T0 + 36_000, 5_000)).toBe(T0 + 36_000);
    // Never past the probe timeout, even with a longer attempt timeout.
    expect(breaker.nextChanceAtMs(T0 + 30_001, 60_000)).toBe(T0 + 50_000);
    // The probe failed: a full open period again.
    breaker.recordFailure(T0 + 35_000);
    expect(breaker.nextChanceAtMs(T0 + 35_000, 5_000)).toBe(T0 + 65_000);
    // A lost probe frees its slot at the probe timeout: now again.
    expect(breaker.canAttempt(T0 + 65_000)).toBe(true);
    expect(breaker.nextChanceAtMs(T0 + 85_000, 5_000)).toBe(T0 + 85_000);
  });

  it('frees the probe slot when a probe is never answered', () => {
    const breaker = new CircuitBreaker({ ...options, probeTimeoutMs: 20_000 });
    failTimes(breaker, 3, T0);
    expect(breaker.canAttempt(T0 + 30_000)).toBe(true);
    expect(breaker.canAttempt(T0 + 49_999)).toBe(false);
    expect(breaker.canAttempt(T0 + 50_000)).toBe(true);
    expect(breaker.canAttempt(T0 + 50_001)).toBe(false);
  });

  it('defaults the probe timeout to at least a minute', () => {
    const breaker = new CircuitBreaker({ ...options, openMs: 1_000 });
    failTimes(breaker, 3, T0);
    expect(breaker.canAttempt(T0 + 1_000)).toBe(true);
    expect(breaker.canAttempt(T0 + 60_999)).toBe(false);
    expect(breaker.canAttempt(T0 + 61_000)).toBe(true);
  });

  it('opens on the first failure with a threshold of one', () => {
    const breaker = new CircuitBreaker({ ...options, failureThreshold: 1 });
    breaker.recordFailure(T0);
    expect(breaker.state(T0)).toBe('open');
  });

  describe('failing streak and disabling', () => {
    it('remembers when the streak started and its latest failure', () => {
      const breaker = new CircuitBreaker(options);
      breaker.recordFailure(T0);
      breaker.recordFailure(T0 + 5_000);
      expect(breaker.failingSinceMs()).toBe(T0);
      expect(breaker.lastFailureAtMs()).toBe(T0 + 5_000);
    });

    it('asks to disable only after failing for longer than disableAfterMs', () => {
      const breaker = new CircuitBreaker(options);
      expect(breaker.shouldDisable(T0 + 10 * 86_400_000)).toBe(false);
      breaker.recordFailure(T0);
      expect(breaker.shouldDisable(T0 + options.disableAfterMs)).toBe(false);
      expect(breaker.shouldDisable(T0 + options.disableAfterMs + 1)).toBe(true);
    });

    it('keeps the streak across open and half-open cycles', () => {
      const breaker = new CircuitBreaker(options);
      failTimes(breaker, 3, T0);
      let now = T0;
      for (let cycle = 0; cycle < 10; cycle++) {
        now += options.openMs;
        expect(breaker.canAttempt(now)).toBe(true);
        breaker.recordFailure(now);
      }
      expect(breaker.failingSinceMs()).toBe(T0);
      expect(breaker.consecutiveFailures()).toBe(13);
    });

    it('starts a new streak after a success', () => {
      const breaker = new CircuitBreaker(options);
      breaker.recordFailure(T0);
      breaker.recordSuccess(T0 + 1_000);
      breaker.recordFailure(T0 + 86_400_000);
      expect(breaker.failingSinceMs()).toBe(T0 + 86_400_000);
      expect(breaker.shouldDisable(T0 + options.disableAfterMs + 1)).toBe(false);
    });
  });

  describe('carried to another process', () => {
    it('has nothing to carry while the endpoint is not failing', () => {
      const breaker = new CircuitBreaker(options);
      expect(breaker.snapshot()).toBeNull();
      breaker.recordFailure(T0);
      breaker.recordSuccess(T0 + 1);
      expect(breaker.snapshot()).toBeNull();
    });

    it('restores an open circuit and its failing streak, so disabling still counts from the first failure', () => {
      const before = new CircuitBreaker(options);
      failTimes(before, 3, T0);
      const carried = before.snapshot();
      expect(carried).toEqual({
        consecutiveFailures: 3,
        failingSinceMs: T0,
        lastFailureAtMs: T0,
        openedAtMs: T0,
      });

      const after = new CircuitBreaker(options);
      after.restore(carried!);
      expect(after.state(T0 + 1)).toBe('open');
      expect(after.canAttempt(T0 + 1)).toBe(false);
      expect(after.canAttempt(T0 + options.openMs)).toBe(true);
      after.recordFailure(T0 + options.openMs);
      expect(after.shouldDisable(T0 + options.disableAfterMs + 1)).toBe(true);
    });

    it('restores a streak below the threshold: the next failures open it', () => {
      const before = new CircuitBreaker(options);
      failTimes(before, 2, T0);
      const after = new CircuitBreaker(options);
      after.restore(before.snapshot()!);
      expect(after.state(T0)).toBe('closed');
      after.recordFailure(T0 + 5);
      expect(after.state(T0 + 5)).toBe('open');
    });
  });

  it.each([
    [{ failureThreshold: 0 }],
    [{ failureThreshold: 1.5 }],
    [{ openMs: -1 }],
    [{ disableAfterMs: Number.NaN }],
  ])('rejects invalid options %j', (override) => {
    expect(() => new CircuitBreaker({ ...options, ...override })).toThrow(RangeError);
  });
});
