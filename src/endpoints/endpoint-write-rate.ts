import { Inject, Injectable, Optional } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { QuotaMetrics } from '../common/quota-metrics';
import { TenantRate } from '../common/tenant-rate';
import type { Clock } from '../domain/clock';
import type { LeaseChannel } from '../domain/token-lease';

/** Where a worker leases its endpoint-write tokens from: the supervisor, or null in a process of its own. */
export const ENDPOINT_WRITE_RATE_LEASES = Symbol('ENDPOINT_WRITE_RATE_LEASES');

/**
 * Each tenant's endpoint writes on this instance (HOOKSTREAM_TENANT_ENDPOINT_WRITE_RATE after a
 * burst of HOOKSTREAM_TENANT_ENDPOINT_WRITE_BURST): a create, change, delete or secret rotation
 * takes one token, or is answered 429. Each write is a locked row write, a NOTIFY that every replica
 * answers with a read, and a change marker on the tenant's input partition that the fan-out reads
 * before that partition's next events: unmetered, one tenant's loop of PATCHes slowed every tenant
 * sharing its partition, and every replica's cache.
 */
@Injectable()
export class EndpointWriteRate extends TenantRate {
  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    quotas: QuotaMetrics,
    @Inject(CLOCK) clock: Clock,
    @Optional() @Inject(ENDPOINT_WRITE_RATE_LEASES) channel: LeaseChannel | null = null,
  ) {
    const { tenantEndpointWriteRatePerSec: ratePerSec, tenantEndpointWriteBurst: burst } = config.limits;
    super(
      {
        quota: 'endpoint_write_rate',
        ratePerSec,
        burst,
        message: `tenant changes its endpoints more than ${ratePerSec} times a second (HOOKSTREAM_TENANT_ENDPOINT_WRITE_RATE)`,
        httpWorkers: config.httpWorkers,
      },
      quotas,
      () => clock.now(),
      channel,
    );
  }
}
