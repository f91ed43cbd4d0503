import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { METRICS_REGISTRY } from './metrics.registry';

export type Quota = 'endpoints' | 'ingest_rate' | 'window_replay';

/**
 * The per-tenant limits as metrics: what each is set to (`hookstream_limit`), and how often a
 * request was refused by one (`hookstream_quota_rejections_total`). No tenant label (cardinality),
 * and no log line names the tenant either (README Section B, known gaps): the 429 goes to the client.
 */
@Injectable()
export class QuotaMetrics {
  private readonly rejections: Counter<'quota'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry, @Inject(APP_CONFIG) config: AppConfig) {
    this.rejections = new Counter({
      name: 'hookstream_quota_rejections_total',
      help: 'Requests refused by a per-tenant limit',
      labelNames: ['quota'],
      registers: [registry],
    });
    const limits = new Gauge({
      name: 'hookstream_limit',
      help: 'Configured limits (README Section A, configuration)',
      labelNames: ['name'],
      registers: [registry],
      // Every worker sets the same values: a scrape merging the workers (src/cluster/workers.ts)
      // would otherwise sum them, and two workers reported every limit doubled.
      aggregator: 'first',
    });
    const l = config.limits;
    const values: Record<string, number> = {
      max_endpoints_per_tenant: l.maxEndpointsPerTenant,
      tenant_ingest_rate_per_second: l.tenantIngestRatePerSec,
      tenant_ingest_burst: l.tenantIngestBurst,
      tenant_max_in_flight: l.tenantMaxInFlight,
      max_in_flight: config.delivery.maxInFlight,
      dns_timeout_seconds: l.dnsTimeoutMs / 1000,
      attempt_log_buffer_bytes: l.attemptLogBufferBytes,
      consumer_buffer_bytes: l.consumerBufferBytes,
      ingest_buffer_bytes: l.ingestBufferBytes,
      ingest_timeout_seconds: l.ingestTimeoutMs / 1000,
    };
    for (const [name, value] of Object.entries(values)) limits.set({ name }, value);
  }

  rejected(quota: Quota): void {
    this.rejections.inc({ quota });
  }
}
