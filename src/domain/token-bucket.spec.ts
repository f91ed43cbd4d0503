import { TokenBuckets } from './token-bucket';

describe('TokenBuckets', () => {
  it('lets a burst through, then the rate, and says when to come back', () => {
    const buckets = new TokenBuckets({ ratePerSec: 10, burst: 5 });
    for (let i = 0; i < 5; i++) expect(buckets.take('t', 1, 0)).toEqual({ ok: true });
    expect(buckets.take('t', 1, 0)).toEqual({ ok: false, retryAfterMs: 100 });
    expect(buckets.take('t', 1, 100)).toEqual({ ok: true });
    expect(buckets.take('t', 3, 200)).toEqual({ ok: false, retryAfterMs: 200 });
    expect(buckets.take('t', 3, 400)).toEqual({ ok: true });
  });

  it('tells how long until a token without taking one or remembering the key', () => {
    const buckets = new TokenBuckets({ ratePerSec: 10, burst: 1, maxKeys: 1 });
    expect(buckets.waitForOne('t', 0)).toBe(0);
    expect(buckets.take('t', 1, 0)).toEqual({ ok: true });
    expect(buckets.waitForOne('t', 0)).toBe(100);
    expect(buckets.waitForOne('t', 40)).toBe(60);
    expect(buckets.waitForOne('t', 100)).toBe(0);
    // Asking did not spend the refill: the token is still there to take.
    expect(buckets.take('t', 1, 100)).toEqual({ ok: true });
    // An unknown key is not stored, so it did not push 't' out of the one-key bound.
    expect(buckets.waitForOne('other', 100)).toBe(0);
    expect(buckets.take('t', 1, 100).ok).toBe(false);
  });

  it('keeps one key from spending another key’s tokens', () => {
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 1 });
    expect(buckets.take('noisy', 1, 0).ok).toBe(true);
    expect(buckets.take('noisy', 1, 0).ok).toBe(false);
    expect(buckets.take('quiet', 1, 0).ok).toBe(true);
  });

  it('never refills past the burst, and refuses more than a burst at once', () => {
    const buckets = new TokenBuckets({ ratePerSec: 100, burst: 2 });
    expect(buckets.take('t', 2, 1_000_000).ok).toBe(true);
    expect(buckets.take('t', 3, 2_000_000).ok).toBe(false);
  });

  it('forgets the key idle longest past its key bound, which only gives that key a full bucket', () => {
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 1, maxKeys: 2 });
    buckets.take('a', 1, 0);
    buckets.take('b', 1, 0);
    buckets.take('c', 1, 0);
    expect(buckets.take('a', 1, 0).ok).toBe(true);
  });

  it('leases a whole lease or none, at most the burst, and says when an empty one has one', () => {
    const buckets = new TokenBuckets({ ratePerSec: 10, burst: 25 });
    expect(buckets.takeLease('a', 10, 0)).toEqual({ granted: 10, retryAfterMs: 0 });
    expect(buckets.takeLease('a', 10, 0)).toEqual({ granted: 10, retryAfterMs: 0 });
    expect(buckets.takeLease('a', 10, 0)).toEqual({ granted: 0, retryAfterMs: 500 });
    expect(buckets.takeLease('a', 10, 500)).toEqual({ granted: 10, retryAfterMs: 0 });
    expect(buckets.takeLease('b', 100, 0)).toEqual({ granted: 25, retryAfterMs: 0 });
  });
});
