import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from './logger.module';
import { METRICS_REGISTRY } from './metrics.registry';

export type Quota = 'endpoints' | 'ingest_rate' | 'endpoint_write_rate' | 'window_replay';

/** A tenant refused by a quota is named in a warning at most this often (per quota). */
export const REFUSAL_LOG_EVERY_MS = 60_000;
/** Tenants remembered between their warnings; past it, the quietest are forgotten (a line sooner). */
const REMEMBERED_REFUSALS = 10_000;

/**
 * The per-tenant limits as metrics: what each is set to (`hookstream_limit`), and how often a
 * request was refused by one (`hookstream_quota_rejections_total`, no tenant label: cardinality).
 * Which tenant: a warning naming it and the quota, at most one a minute per tenant and quota, with
 * how many requests were refused since the last.
 */
@Injectable()
export class QuotaMetrics {
  private readonly rejections: Counter<'quota'>;
  /** Per quota and tenant: when its last warning was written, and refusals since. */
  private readonly refusals = new Map<string, { loggedAtMs: number; since: number }>();

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(APP_CONFIG) config: AppConfig,
    @Optional() @Inject(LOGGER) private readonly logger: Pick<Logger, 'warn'> | null = null,
  ) {
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
      tenant_endpoint_write_rate_per_second: l.tenantEndpointWriteRatePerSec,
      tenant_endpoint_write_burst: l.tenantEndpointWriteBurst,
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

  /** Counts a refusal by `quota` of a request of `tenantId`, and names the tenant now and then. */
  rejected(quota: Quota, tenantId: string, nowMs = Date.now()): void {
    this.rejections.inc({ quota });
    const key = `${quota}\u0000${tenantId}`;
    const seen = this.refusals.get(key);
    if (seen && nowMs - seen.loggedAtMs < REFUSAL_LOG_EVERY_MS) {
      seen.since += 1;
      return;
    }
    this.logger?.warn(
      { tenantId, quota, refused: (seen?.since ?? 0) + 1 },
      'a tenant was refused by a quota (count since its last such line)',
    );
    this.refusals.delete(key);
    this.refusals.set(key, { loggedAtMs: nowMs, since: 0 });
    if (this.refusals.size > REMEMBERED_REFUSALS) this.forgetQuiet(nowMs);
  }

  /**
   * Map order is the order of the last lines: drops from the front those a window old (they would
   * get a line anyway), then, with every tenant refused within the window, the oldest one.
   */
  private forgetQuiet(nowMs: number): void {
    for (const [key, { loggedAtMs }] of this.refusals) {
      if (nowMs - loggedAtMs < REFUSAL_LOG_EVERY_MS) break;
      this.refusals.delete(key);
    }
    const oldest = this.refusals.keys().next();
    if (this.refusals.size > REMEMBERED_REFUSALS && !oldest.done) this.refusals.delete(oldest.value);
  }
}
