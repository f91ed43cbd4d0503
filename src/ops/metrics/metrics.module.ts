import { Controller, Get, Header, Inject, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Counter, type Registry } from 'prom-client';
import { CLUSTER_METRICS_REGISTRY, METRICS_REGISTRY } from '../../common/metrics.registry';
import { ClusterModule } from '../../cluster/cluster.module';
import { ReplicaRegistry } from '../../cluster/replica-registry';
import { OperatorRoute } from '../../common/roles';
import { WorkerMetricsBridge } from './worker-metrics';

@ApiExcludeController()
@OperatorRoute()
@Controller()
export class MetricsController {
  private readonly collectFailures: Counter<'metric'>;

  constructor(
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(CLUSTER_METRICS_REGISTRY) private readonly cluster: Registry,
    private readonly replicas: ReplicaRegistry,
    private readonly workers: WorkerMetricsBridge,
  ) {
    this.collectFailures = new Counter({
      name: 'hookstream_metrics_collect_failures_total',
      help: 'Cluster-wide series left out of a scrape because collecting them failed (PostgreSQL down)',
      labelNames: ['metric'],
      registers: [registry],
    });
    workers.serve({
      own: () => this.registry.getMetricsAsJSON(),
      cluster: () => (this.replicas.isExporter() ? this.clusterText() : Promise.resolve(null)),
    });
  }

  /**
   * This process's series; and, from the exporter replica only, the cluster-wide ones. A worker
   * under a supervisor answers for all the supervisor's workers (src/cluster/workers.ts), falling
   * back to its own series if the supervisor does not answer.
   */
  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    const all = await this.workers.scrape();
    if (all !== null) return all;
    if (!this.replicas.isExporter()) return this.registry.metrics();
    return `${(await this.registry.metrics()).trimEnd()}\n${await this.clusterText()}`;
  }

  private clusterText(): Promise<string> {
    return clusterSeries(this.cluster, (metric) => this.collectFailures.inc({ metric }));
  }
}

/**
 * The registry's series one metric at a time: a collector that needs PostgreSQL fails alone while
 * it is down (its series are absent from that scrape, and counted), instead of failing the whole
 * scrape and with it this process's own series, which say what the outage is doing.
 */
export async function clusterSeries(registry: Registry, failed: (metric: string) => void): Promise<string> {
  const names = registry.getMetricsAsArray().map((metric) => metric.name);
  const texts = await Promise.allSettled(names.map((name) => registry.getSingleMetricAsString(name)));
  return texts
    .flatMap((text, index) => {
      if (text.status === 'fulfilled') return [text.value.trimEnd()];
      failed(names[index]);
      return [];
    })
    .join('\n')
    .concat('\n');
}

/** GET /metrics: the process's registry in the Prometheus text format (and the cluster's, on the exporter). */
@Module({ imports: [ClusterModule], controllers: [MetricsController], providers: [WorkerMetricsBridge] })
export class MetricsModule {}
