import { Inject, Injectable, Optional } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { QuotaMetrics } from '../common/quota-metrics';
import { TenantRate } from '../common/tenant-rate';
import type { Clock } from '../domain/clock';
import type { LeaseChannel } from '../domain/token-lease';

/** Where a worker leases its ingest tokens from: the supervisor, or null in a process of its own. */
export const INGEST_RATE_LEASES = Symbol('INGEST_RATE_LEASES');

/**
 * Each tenant's ingest rate on this instance (HOOKSTREAM_TENANT_INGEST_RATE after a burst of
 * HOOKSTREAM_TENANT_INGEST_BURST), shared by the publish path, which takes a token per event, and
 * the early refusal (EarlyIngestRefusal), which only asks whether one is there, so a flood is
 * refused before its body is read. With HOOKSTREAM_HTTP_WORKERS above 1 the workers lease the
 * tokens from the supervisor's buckets (TenantRate).
 */
@Injectable()
export class IngestRate extends TenantRate {
  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    quotas: QuotaMetrics,
    @Inject(CLOCK) clock: Clock,
    @Optional() @Inject(INGEST_RATE_LEASES) channel: LeaseChannel | null = null,
  ) {
    const { tenantIngestRatePerSec: ratePerSec, tenantIngestBurst: burst } = config.limits;
    super(
      {
        quota: 'ingest_rate',
        ratePerSec,
        burst,
        message: `tenant publishes more than ${ratePerSec} events a second (HOOKSTREAM_TENANT_INGEST_RATE)`,
        httpWorkers: config.httpWorkers,
      },
      quotas,
      () => clock.now(),
      channel,
    );
  }
}
