import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError } from '../common/domain-error';
import { QuotaMetrics } from '../common/quota-metrics';
import { TokenBuckets } from '../domain/token-bucket';

/** A 429 as the exception filter would answer it, without an Error (and its stack) built to carry it. */
export interface RateRefusal {
  code: 'rate_limited';
  message: string;
  details: string[];
  retryAfterSeconds: number;
}

/**
 * Each tenant's ingest rate on this instance (HOOKSTREAM_TENANT_INGEST_RATE after a burst of
 * HOOKSTREAM_TENANT_INGEST_BURST): one bucket per tenant, shared by the publish path, which takes
 * a token per event, and the early refusal (EarlyIngestRefusal), which only asks whether one is
 * there, so a flood is refused before its body is read.
 */
@Injectable()
export class IngestRate {
  private readonly buckets: TokenBuckets;
  private readonly message: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly quotas: QuotaMetrics,
  ) {
    this.buckets = new TokenBuckets({
      ratePerSec: config.limits.tenantIngestRatePerSec,
      burst: config.limits.tenantIngestBurst,
    });
    this.message = `tenant publishes more than ${config.limits.tenantIngestRatePerSec} events a second (HOOKSTREAM_TENANT_INGEST_RATE)`;
  }

  /** Takes one event's token, or throws the 429 (counted) saying when to come back. */
  take(tenantId: string, nowMs: number): void {
    const allowed = this.buckets.take(tenantId, 1, nowMs);
    if (allowed.ok) return;
    const refusal = this.refused(allowed.retryAfterMs);
    throw DomainError.rateLimited(refusal.message, refusal.retryAfterSeconds);
  }

  /**
   * The 429 (counted) for a tenant with no token now, or null when one is there; takes nothing.
   * A plain value: a flood is refused here hundreds of times a second (the noisy-neighbour bench).
   */
  refusalNow(tenantId: string, nowMs: number): RateRefusal | null {
    const waitMs = this.buckets.waitForOne(tenantId, nowMs);
    return waitMs === 0 ? null : this.refused(waitMs);
  }

  private refused(retryAfterMs: number): RateRefusal {
    this.quotas.rejected('ingest_rate');
    return {
      code: 'rate_limited',
      message: this.message,
      details: [this.message],
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
    };
  }
}
