import { LRUCache } from 'lru-cache';
import { TokenBuckets, type Take } from './token-bucket';

/** What the holder of the real buckets answers a lease request with. */
export interface LeaseAnswer {
  /** Tokens now this worker's to spend (0: none left). */
  granted: number;
  /** With none granted: how long until the bucket holds one. */
  retryAfterMs: number;
}

/** Asks the holder of the real buckets (the worker supervisor) for up to `want` of a key's tokens. */
export interface LeaseChannel {
  lease(key: string, want: number): Promise<LeaseAnswer>;
}

export interface TokenLeaseOptions {
  /** The rate and burst of the real buckets, for the fallback below. */
  ratePerSec: number;
  burst: number;
  /** How many processes share the real buckets. */
  holders: number;
  /** Tokens asked for at once. */
  leaseSize: number;
  /** Leased tokens not spent within this are dropped, so what a worker holds stays close to the rate. */
  leaseTtlMs: number;
  /** Most keys remembered. */
  maxKeys?: number;
}

interface Held {
  tokens: number;
  expiresAtMs: number;
}

/**
 * One process's share of rate limits held elsewhere (README decision 69): the tokens of a key are
 * leased a few at a time from the one set of buckets (the worker supervisor's) and spent here, so
 * every worker of an instance together keeps to the instance's rate, and a lease costs one message
 * per `leaseSize` tokens, not one per request. A key the holder says is empty is refused here until
 * the holder's bucket holds a whole lease again, without asking. Requests waiting on the same key share one
 * lease request. If the holder cannot answer, this process falls back to its own buckets at
 * 1/`holders` of the rate, so a broken channel never stops ingest nor lifts the limit.
 */
export class TokenLeases {
  private readonly held: LRUCache<string, Held>;
  private readonly emptyUntil: LRUCache<string, number>;
  private readonly asking = new Map<string, Promise<boolean>>();
  private readonly fallback: TokenBuckets;

  constructor(
    private readonly channel: LeaseChannel,
    private readonly options: TokenLeaseOptions,
    private readonly now: () => number,
  ) {
    const maxKeys = options.maxKeys ?? 100_000;
    this.held = new LRUCache({ max: maxKeys });
    this.emptyUntil = new LRUCache({ max: maxKeys });
    this.fallback = new TokenBuckets({
      ratePerSec: options.ratePerSec / options.holders,
      burst: Math.max(1, Math.floor(options.burst / options.holders)),
      maxKeys,
    });
  }

  /** Spends one of `key`'s tokens, leasing more when this process holds none; or says how long to wait. */
  async take(key: string): Promise<Take> {
    for (;;) {
      const nowMs = this.now();
      if (this.spend(key, nowMs)) return { ok: true };
      const waitMs = this.knownEmptyFor(key, nowMs);
      if (waitMs > 0) return { ok: false, retryAfterMs: waitMs };
      const fellBack = await this.ask(key);
      if (fellBack) return this.fallback.take(key, 1, this.now());
    }
  }

  /**
   * How long until `key` may have a token, as far as this process knows without asking: 0 unless it
   * holds none and was told lately that the holder had none. Takes nothing.
   */
  knownEmptyFor(key: string, nowMs: number): number {
    const held = this.held.peek(key);
    if (held !== undefined && held.tokens >= 1 && held.expiresAtMs > nowMs) return 0;
    const until = this.emptyUntil.peek(key);
    return until !== undefined && until > nowMs ? until - nowMs : 0;
  }

  /** Spends one of the tokens this process holds for `key`, if it holds one; never asks. */
  spend(key: string, nowMs: number): boolean {
    const held = this.held.get(key);
    if (held === undefined || held.tokens < 1 || held.expiresAtMs <= nowMs) return false;
    held.tokens -= 1;
    return true;
  }

  /** One lease request per key at a time; resolves true when the holder could not answer. */
  private ask(key: string): Promise<boolean> {
    const pending = this.asking.get(key);
    if (pending) return pending;
    const request = this.channel
      .lease(key, this.options.leaseSize)
      .then(
        (answer) => {
          const nowMs = this.now();
          // An earlier emptyUntil is already past: this was asked only once it was.
          if (answer.granted > 0) {
            this.held.set(key, { tokens: answer.granted, expiresAtMs: nowMs + this.options.leaseTtlMs });
          } else {
            this.emptyUntil.set(key, nowMs + Math.max(1, answer.retryAfterMs));
          }
          return false;
        },
        () => true,
      )
      .finally(() => this.asking.delete(key));
    this.asking.set(key, request);
    return request;
  }
}
