import { AuthFailureLimiter } from './auth-failure-limiter';

describe('AuthFailureLimiter', () => {
  it('lets `limit` failures through in a window, then refuses until the window ends', () => {
    const limiter = new AuthFailureLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterMs('10.0.0.1', 1_000)).toBe(0);
      limiter.recordFailure('10.0.0.1', 1_000);
    }
    expect(limiter.retryAfterMs('10.0.0.1', 1_000)).toBe(60_000);
    expect(limiter.retryAfterMs('10.0.0.1', 31_000)).toBe(30_000);
    expect(limiter.retryAfterMs('10.0.0.2', 31_000)).toBe(0);
    expect(limiter.retryAfterMs('10.0.0.1', 61_000)).toBe(0);
    limiter.recordFailure('10.0.0.1', 61_000);
    expect(limiter.retryAfterMs('10.0.0.1', 61_000)).toBe(0);
  });

  it('forgets the oldest subjects past its bound', () => {
    const limiter = new AuthFailureLimiter(1, 60_000, 2);
    limiter.recordFailure('a', 0);
    limiter.recordFailure('b', 0);
    limiter.recordFailure('c', 0);
    expect(limiter.size).toBe(2);
    expect(limiter.retryAfterMs('a', 0)).toBe(0);
    expect(limiter.retryAfterMs('c', 0)).toBeGreaterThan(0);
  });
});
