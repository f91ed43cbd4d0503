import { Inject, Injectable } from '@nestjs/common';
import { Counter, Histogram, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from '../common/metrics.registry';

const LATENCY_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 43200,
];

/** Delivery counters and histograms; no per-endpoint label (cardinality). */
@Injectable()
export class DeliveryMetrics {
  private readonly outcomes: Counter<'outcome'>;
  private readonly attemptLatency: Histogram<'result'>;
  private readonly eventToDelivery: Histogram;
  private readonly heldCycled: Counter<'release'>;
  private readonly unsealed: Counter;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.outcomes = new Counter({
      name: 'hookstream_deliveries_total',
      help: 'Delivery outcomes: delivered, retried, dead_lettered, circuit_open, shed, parked, held_at_fanout, endpoint_deleted, task_unauthenticated',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.attemptLatency = new Histogram({
      name: 'hookstream_attempt_duration_seconds',
      help: 'HTTP attempt latency, by result (delivered or failed)',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS_S.slice(0, 12),
      registers: [registry],
    });
    this.eventToDelivery = new Histogram({
      name: 'hookstream_event_to_delivery_seconds',
      help: 'From the event entering Kafka to a 2xx at the endpoint (includes retries)',
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    });
    this.heldCycled = new Counter({
      name: 'hookstream_held_turned_away_total',
      help:
        'Held deliveries handed back (as a probe, or in a batch) and turned away again without an attempt: ' +
        'cycled PostgreSQL, Kafka, PostgreSQL. Batches: 0 while the releaser is the endpoint owner',
      labelNames: ['release'],
      registers: [registry],
    });
    this.unsealed = new Counter({
      name: 'hookstream_tasks_unsealed_accepted_total',
      help:
        'Delivery tasks without a MAC taken because HOOKSTREAM_ACCEPT_UNSEALED_TASKS is on (a rolling upgrade): ' +
        'once it stays flat for the longest retry horizon, turn the setting off',
      registers: [registry],
    });
    // Exported as 0 from the start: a series born at 1 is no increase() to the alert on it.
    for (const release of ['probe', 'batch']) this.heldCycled.inc({ release }, 0);
  }

  heldTurnedAway(release: 'probe' | 'batch'): void {
    this.heldCycled.inc({ release });
  }

  unsealedAccepted(): void {
    this.unsealed.inc();
  }

  outcome(outcome: string, count = 1): void {
    this.outcomes.inc({ outcome }, count);
  }

  attempt(result: 'delivered' | 'failed', latencyMs: number): void {
    this.attemptLatency.observe({ result }, latencyMs / 1000);
  }

  delivered(eventToDeliveryMs: number): void {
    this.outcomes.inc({ outcome: 'delivered' });
    this.eventToDelivery.observe(Math.max(0, eventToDeliveryMs) / 1000);
  }
}
