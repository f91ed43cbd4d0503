import { DomainError } from './domain-error';
import type { Quota, QuotaMetrics } from './quota-metrics';
import { TokenBuckets } from '../domain/token-bucket';
import { TokenLeases, type LeaseChannel } from '../domain/token-lease';

/** A worker holds at most a tenth of a second of the rate at a time (README decision 69). */
const LEASES_PER_SECOND = 10;
const MAX_LEASE = 100;
const LEASE_TTL_MS = 1_000;

/** A 429 as the exception filter would answer it, without an Error (and its stack) built to carry it. */
export interface RateRefusal {
  code: 'rate_limited';
  message: string;
  details: string[];
  retryAfterSeconds: number;
}

export interface TenantRateSettings {
  /** What refusals count as in `hookstream_quota_rejections_total`. */
  quota: Quota;
  ratePerSec: number;
  burst: number;
  /** The 429's message. */
  message: string;
  /** HTTP workers sharing the instance's buckets (HOOKSTREAM_HTTP_WORKERS). */
  httpWorkers: number;
}

/** Where the tokens come from: buckets of the process's own, or leases from the supervisor. */
type Tokens = { kind: 'own'; buckets: TokenBuckets } | { kind: 'leased'; leases: TokenLeases };

/**
 * One per-tenant rate of this instance: a bucket per tenant of `ratePerSec` after a burst of
 * `burst`. With several HTTP workers the buckets are the supervisor's and each worker spends tokens
 * it leases from them (TokenLeases, over `channel`), so the workers together keep to the instance's
 * rate, not each to all of it; with `channel` null this process holds the buckets itself.
 */
export class TenantRate {
  private readonly tokens: Tokens;

  constructor(
    private readonly settings: TenantRateSettings,
    private readonly quotas: Pick<QuotaMetrics, 'rejected'>,
    now: () => number,
    channel: LeaseChannel | null,
  ) {
    const { ratePerSec, burst, httpWorkers } = settings;
    this.tokens =
      channel === null
        ? { kind: 'own', buckets: new TokenBuckets({ ratePerSec, burst }) }
        : {
            kind: 'leased',
            leases: new TokenLeases(
              channel,
              {
                ratePerSec,
                burst,
                holders: httpWorkers,
                leaseSize: Math.max(
                  1,
                  Math.min(MAX_LEASE, Math.floor(ratePerSec / (LEASES_PER_SECOND * httpWorkers))),
                ),
                leaseTtlMs: LEASE_TTL_MS,
              },
              now,
            ),
          };
  }

  /**
   * Takes one token, or throws the 429 (counted) saying when to come back. Synchronous in a process
   * of its own; a worker may wait for a lease.
   */
  take(tenantId: string, nowMs: number): void | Promise<void> {
    if (this.tokens.kind === 'leased') {
      const { leases } = this.tokens;
      // Nearly always a token already leased: spent without a promise.
      if (leases.spend(tenantId, nowMs)) return;
      return leases.take(tenantId).then((allowed) => {
        if (!allowed.ok) this.throwRefusal(tenantId, allowed.retryAfterMs);
      });
    }
    const allowed = this.tokens.buckets.take(tenantId, 1, nowMs);
    if (!allowed.ok) this.throwRefusal(tenantId, allowed.retryAfterMs);
  }

  /**
   * The 429 (counted) for a tenant with no token now, or null when one is there; takes nothing.
   * A plain value: a flood is refused here hundreds of times a second (the noisy-neighbour bench).
   * A worker refuses only what it knows without asking: it holds no token and was told lately
   * that the supervisor had none.
   */
  refusalNow(tenantId: string, nowMs: number): RateRefusal | null {
    const waitMs =
      this.tokens.kind === 'own'
        ? this.tokens.buckets.waitForOne(tenantId, nowMs)
        : this.tokens.leases.knownEmptyFor(tenantId, nowMs);
    return waitMs === 0 ? null : this.refused(tenantId, waitMs);
  }

  private throwRefusal(tenantId: string, retryAfterMs: number): never {
    const refusal = this.refused(tenantId, retryAfterMs);
    throw DomainError.rateLimited(refusal.message, refusal.retryAfterSeconds);
  }

  private refused(tenantId: string, retryAfterMs: number): RateRefusal {
    this.quotas.rejected(this.settings.quota, tenantId);
    const { message } = this.settings;
    return {
      code: 'rate_limited',
      message,
      details: [message],
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
    };
  }
}
