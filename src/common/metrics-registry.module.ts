import { Global, Module } from '@nestjs/common';
import { createMetricsRegistry, METRICS_REGISTRY } from './metrics.registry';
import { QuotaMetrics } from './quota-metrics';

/** The registry every module registers its metrics in (ops/ serves it at GET /metrics), and the quota counters. */
@Global()
@Module({
  providers: [{ provide: METRICS_REGISTRY, useFactory: createMetricsRegistry }, QuotaMetrics],
  exports: [METRICS_REGISTRY, QuotaMetrics],
})
export class MetricsRegistryModule {}
