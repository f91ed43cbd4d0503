import { Inject, Injectable } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import { CLUSTER_METRICS_REGISTRY, METRICS_REGISTRY } from '../common/metrics.registry';
import { ReplicaRegistry } from '../cluster/replica-registry';
import { AttemptLog } from '../delivery/attempt-log';
import { DeliveryEngine } from '../delivery/delivery-engine';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { ConsumerRunner } from '../kafka/consumer-runner';

/**
 * Gauges read from memory at scrape time; none carries an endpoint or tenant label. This process's
 * own state goes in its registry; endpoints by status (from the endpoint cache) in the cluster-wide
 * one, served by the exporter replica only. Cluster-wide figures kept in PostgreSQL are read in the
 * background by `ClusterGauges` (metrics/cluster-gauges.ts), never at scrape time.
 */
@Injectable()
export class RuntimeGauges {
  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(CLUSTER_METRICS_REGISTRY) cluster: Registry,
    engine: DeliveryEngine,
    consumers: ConsumerRunner,
    attempts: AttemptLog,
    cache: EndpointCache,
    replicas: ReplicaRegistry,
  ) {
    new Gauge({
      name: 'hookstream_in_flight_deliveries',
      help: 'HTTP delivery attempts running now in this process',
      registers: [registry],
      collect() {
        this.set(engine.inFlight());
      },
    });
    new Gauge({
      name: 'hookstream_unfinished_records',
      help: 'Records handed to delivery and retry-tier handlers and not yet finished (includes lane queues)',
      registers: [registry],
      collect() {
        this.set(consumers.inFlight());
      },
    });
    new Gauge({
      name: 'hookstream_delivery_partitions_owned',
      help: 'Partition indexes of the deliveries topic and retry tiers this replica owns (works on) now',
      registers: [registry],
      collect() {
        this.set(consumers.ownedDeliveryPartitions().length);
      },
    });
    new Gauge({
      name: 'hookstream_cluster_exporter',
      help: 'Whether this replica serves the cluster-wide series (exactly one live replica should)',
      registers: [registry],
      collect() {
        this.set(replicas.isExporter() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'hookstream_attempt_log_buffered',
      help: 'Delivery attempts waiting to be written to PostgreSQL',
      registers: [registry],
      collect() {
        this.set(attempts.pending());
      },
    });
    new Gauge({
      name: 'hookstream_endpoints',
      help:
        'Endpoints by status: enabled, disabled, or unreadable (enabled, but a signing secret does not ' +
        'decrypt with the configured keys: its deliveries are dead-lettered)',
      labelNames: ['status'],
      registers: [cluster],
      collect() {
        const all = cache.all();
        const disabled = all.filter((endpoint) => !endpoint.enabled).length;
        const unreadable = all.filter((endpoint) => endpoint.enabled && endpoint.problem !== null).length;
        this.set({ status: 'enabled' }, all.length - disabled - unreadable);
        this.set({ status: 'disabled' }, disabled);
        this.set({ status: 'unreadable' }, unreadable);
      },
    });
  }
}
