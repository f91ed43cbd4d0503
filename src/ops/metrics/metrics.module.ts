import { Controller, Get, Header, Inject, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Registry } from 'prom-client';
import { CLUSTER_METRICS_REGISTRY, METRICS_REGISTRY } from '../../common/metrics.registry';
import { ClusterModule } from '../../cluster/cluster.module';
import { ReplicaRegistry } from '../../cluster/replica-registry';
import { OperatorRoute } from '../../common/roles';

@ApiExcludeController()
@OperatorRoute()
@Controller()
export class MetricsController {
  constructor(
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(CLUSTER_METRICS_REGISTRY) private readonly cluster: Registry,
    private readonly replicas: ReplicaRegistry,
  ) {}

  /** This process's series; and, from the exporter replica only, the cluster-wide ones. */
  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    const own = await this.registry.metrics();
    if (!this.replicas.isExporter()) return own;
    return `${own.trimEnd()}\n${await this.cluster.metrics()}`;
  }
}

/** GET /metrics: the process's registry in the Prometheus text format (and the cluster's, on the exporter). */
@Module({ imports: [ClusterModule], controllers: [MetricsController] })
export class MetricsModule {}
