import { Inject, Injectable } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import { AttemptLog } from '../delivery/attempt-log';
import { DeliveryEngine } from '../delivery/delivery-engine';
import { EndpointHealth } from '../delivery/endpoint-health';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { ConsumerRunner } from '../kafka/consumer-runner';
import { METRICS_REGISTRY } from '../common/metrics.registry';

/** Gauges read from this process's live state at scrape time; none carries an endpoint or tenant label. */
@Injectable()
export class RuntimeGauges {
  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    engine: DeliveryEngine,
    consumers: ConsumerRunner,
    health: EndpointHealth,
    attempts: AttemptLog,
    cache: EndpointCache,
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
      name: 'hookstream_endpoint_circuits',
      help: "Endpoint circuits by state, as this process's delivery engine sees them",
      labelNames: ['state'],
      registers: [registry],
      collect() {
        for (const [state, count] of Object.entries(health.countByState())) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'hookstream_endpoints',
      help:
        'Endpoints known to the endpoint cache, by status: enabled, disabled, or unreadable (enabled, but ' +
        'a signing secret does not decrypt with the configured keys: its deliveries are dead-lettered)',
      labelNames: ['status'],
      registers: [registry],
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
      name: 'hookstream_attempt_log_buffered',
      help: 'Delivery attempts waiting to be written to PostgreSQL',
      registers: [registry],
      collect() {
        this.set(attempts.pending());
      },
    });
  }
}
