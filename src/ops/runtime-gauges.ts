import { Inject, Injectable } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import { CLUSTER_METRICS_REGISTRY, METRICS_REGISTRY } from '../common/metrics.registry';
import { ReplicaRegistry } from '../cluster/replica-registry';
import { AttemptLog } from '../delivery/attempt-log';
import { DeliveryEngine } from '../delivery/delivery-engine';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { EndpointHealthRepository } from '../endpoints/endpoint-health.repository';
import { ConsumerRunner } from '../kafka/consumer-runner';

/**
 * Gauges read at scrape time; none carries an endpoint or tenant label. This process's own state
 * goes in its registry; what describes the whole cluster (endpoints, circuits, replicas) in the
 * cluster-wide one, served by the exporter replica only.
 */
@Injectable()
export class RuntimeGauges {
  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(CLUSTER_METRICS_REGISTRY) cluster: Registry,
    engine: DeliveryEngine,
    consumers: ConsumerRunner,
    health: EndpointHealthRepository,
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
      name: 'hookstream_endpoint_circuits',
      help: 'Circuits of failing endpoints by state, over every replica (closed: failing, not yet open)',
      labelNames: ['state'],
      registers: [cluster],
      async collect() {
        for (const [state, count] of Object.entries(await health.countByState())) this.set({ state }, count);
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
    new Gauge({
      name: 'hookstream_replicas',
      help: 'Replicas with a recent heartbeat, by role (a replica with several roles counts under each)',
      labelNames: ['role'],
      registers: [cluster],
      async collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const replica of (await replicas.replicas()).filter((r) => r.live)) {
          for (const role of replica.roles) counts.set(role, (counts.get(role) ?? 0) + 1);
        }
        for (const [role, count] of counts) this.set({ role }, count);
      },
    });
  }
}
