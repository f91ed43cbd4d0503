import { Inject, Injectable, Optional } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { DomainError } from '../common/domain-error';
import { QuotaMetrics } from '../common/quota-metrics';
import type { Clock } from '../domain/clock';
import { TokenBuckets } from '../domain/token-bucket';
import { TokenLeases, type LeaseChannel } from '../domain/token-lease';

/** Where a worker leases its ingest tokens from: the supervisor, or null in a process of its own. */
export const INGEST_RATE_LEASES = Symbol('INGEST_RATE_LEASES');

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

/** Where the tokens come from: buckets of the process's own, or leases from the supervisor. */
type Tokens = { kind: 'own'; buckets: TokenBuckets } | { kind: 'leased'; leases: TokenLeases };

/**
 * Each tenant's ingest rate on this instance (HOOKSTREAM_TENANT_INGEST_RATE after a burst of
 * HOOKSTREAM_TENANT_INGEST_BURST): one bucket per tenant, shared by the publish path, which takes
 * a token per event, and the early refusal (EarlyIngestRefusal), which only asks whether one is
 * there, so a flood is refused before its body is read. With HOOKSTREAM_HTTP_WORKERS above 1 the
 * buckets are the supervisor's and each of those workers spends tokens it leases from them
 * (TokenLeases), so the workers together keep to the instance's rate, not each to all of it.
 */
@Injectable()
export class IngestRate {
  private readonly tokens: Tokens;
  private readonly message: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly quotas: QuotaMetrics,
    @Inject(CLOCK) clock: Clock,
    @Optional() @Inject(INGEST_RATE_LEASES) channel: LeaseChannel | null = null,
  ) {
    const { tenantIngestRatePerSec: ratePerSec, tenantIngestBurst: burst } = config.limits;
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
                holders: config.httpWorkers,
                leaseSize: Math.max(
                  1,
                  Math.min(MAX_LEASE, Math.floor(ratePerSec / (LEASES_PER_SECOND * config.httpWorkers))),
                ),
                leaseTtlMs: LEASE_TTL_MS,
              },
              () => clock.now(),
            ),
          };
    this.message = `tenant publishes more than ${ratePerSec} events a second (HOOKSTREAM_TENANT_INGEST_RATE)`;
  }

  /**
   * Takes one event's token, or throws the 429 (counted) saying when to come back. Synchronous in
   * a process of its own; a worker may wait for a lease.
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
    this.quotas.rejected('ingest_rate', tenantId);
    return {
      code: 'rate_limited',
      message: this.message,
      details: [this.message],
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
    };
  }
}
