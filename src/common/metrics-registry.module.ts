import { Global, Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { CLUSTER_METRICS_REGISTRY, createMetricsRegistry, METRICS_REGISTRY } from './metrics.registry';
import { QuotaMetrics } from './quota-metrics';

/**
 * The registry every module registers this process's metrics in, the one for the cluster-wide
 * series (ops/ serves both at GET /metrics, the second from the exporter replica only), and the
 * quota counters.
 */
@Global()
@Module({
  providers: [
    { provide: METRICS_REGISTRY, useFactory: createMetricsRegistry },
    { provide: CLUSTER_METRICS_REGISTRY, useFactory: () => new Registry() },
    QuotaMetrics,
  ],
  exports: [METRICS_REGISTRY, CLUSTER_METRICS_REGISTRY, QuotaMetrics],
})
export class MetricsRegistryModule {}
