import { LRUCache } from 'lru-cache';

/**
 * Rate limits per key (a tenant): a bucket of `burst` tokens refilled at `ratePerSec`; a request
 * takes one token per unit. Pure: the time is passed in. The keys are bounded: the fullest buckets
 * (those nobody drew from lately) are the ones forgotten, which only ever gives their owner more.
 */
export interface TokenBucketOptions {
  ratePerSec: number;
  burst: number;
  /** Most keys remembered. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export type Take = { ok: true } | { ok: false; retryAfterMs: number };

export class TokenBuckets {
  /** The key drawn from longest ago goes first; lru-cache evicts in constant time. */
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(private readonly options: TokenBucketOptions) {
    this.buckets = new LRUCache({ max: options.maxKeys ?? 100_000 });
  }

  /** Takes `count` tokens from `key`'s bucket, or says how long until there are enough. */
  take(key: string, count: number, nowMs: number): Take {
    const { ratePerSec, burst } = this.options;
    const bucket = this.refilled(key, nowMs);
    if (count > burst)
      return { ok: false, retryAfterMs: Math.ceil(((count - bucket.tokens) / ratePerSec) * 1000) };
    if (bucket.tokens >= count) {
      bucket.tokens -= count;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((count - bucket.tokens) / ratePerSec) * 1000) };
  }

  /**
   * Takes a lease of `count` tokens (at most the burst) at once, or grants none and says how long
   * until the bucket holds them: all or nothing, so the holders of leases ask once per lease, not
   * once per token as the bucket refills under a flood.
   */
  takeLease(key: string, count: number, nowMs: number): { granted: number; retryAfterMs: number } {
    const size = Math.max(1, Math.min(count, this.options.burst));
    const taken = this.take(key, size, nowMs);
    return taken.ok ? { granted: size, retryAfterMs: 0 } : { granted: 0, retryAfterMs: taken.retryAfterMs };
  }

  /**
   * How long until `key`'s bucket holds one token, 0 when it holds one now; takes nothing and
   * remembers nothing, so asking for a key never seen costs no memory.
   */
  waitForOne(key: string, nowMs: number): number {
    const bucket = this.buckets.peek(key);
    if (!bucket) return 0;
    const tokens = Math.min(
      this.options.burst,
      bucket.tokens + (Math.max(0, nowMs - bucket.atMs) / 1000) * this.options.ratePerSec,
    );
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / this.options.ratePerSec) * 1000);
  }

  private refilled(key: string, nowMs: number): Bucket {
    // get() makes the key the most recently used, so the one idle longest is forgotten first.
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.options.burst, atMs: nowMs };
      this.buckets.set(key, bucket);
    } else {
      const elapsedMs = Math.max(0, nowMs - bucket.atMs);
      bucket.tokens = Math.min(
        this.options.burst,
        bucket.tokens + (elapsedMs / 1000) * this.options.ratePerSec,
      );
      bucket.atMs = nowMs;
    }
    return bucket;
  }
}
