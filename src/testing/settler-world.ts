import { Registry } from 'prom-client';
import { DeliveryMetrics } from '../delivery/delivery-metrics';
import { EndpointHealth } from '../delivery/endpoint-health';
import type { AttemptRecord } from '../delivery/attempts.repository';
import { Settler } from '../delivery/settler';
import { FIRST_ATTEMPT, type AttemptState, type DeliveryTask } from '../domain/delivery-task';
import { RetryTopics } from '../retry/retry-topics';
import { FakeClock, RecordingProducer, silentLogger, testConfig, testTaskSeal } from './fakes';
import { InMemoryEndpointHealthStore, InMemoryHeldDeliveries, InMemoryStrictParking } from './stores';

/** A Settler over in-memory stores and a recording producer, for the settler's specs. */
export const config = testConfig({ HOOKSTREAM_TOPIC_NAMESPACE: 'hs', HOOKSTREAM_DISABLE_AFTER: '1h' });
export const [tier1, tier2] = config.kafka.retryTiers.map((tier) => tier.topic);
export const dlq = config.kafka.dlqTopic;

export function task(n = 1, endpointId = 'ep-1'): DeliveryTask {
  return {
    deliveryId: `d-${n}`,
    eventId: `e-${n}`,
    endpointId,
    tenantId: 't-1',
    eventType: 'record.updated',
    eventTime: '2026-12-02T12:00:00.000Z',
    data: { n },
    publishedAtMs: Date.UTC(2026, 11, 2, 11, 59, 59),
  };
}

export const sealed = (t: DeliveryTask): Buffer => testTaskSeal.seal(t);

export function attempt(outcome: 'delivered' | 'failed', statusCode: number): AttemptRecord {
  return {
    endpointId: 'ep-1',
    tenantId: 't-1',
    eventId: 'e-1',
    deliveryId: 'd-1',
    attempt: 1,
    statusCode,
    error: outcome === 'failed' ? `HTTP ${statusCode}` : null,
    outcome,
    latencyMs: 12,
    responseBody: null,
    attemptedAt: new Date(0),
  };
}

export function world(logger = silentLogger) {
  return worldParkingIn(new InMemoryStrictParking(), logger);
}

/** The same over the strict-ordering store given (StrictParking on PostgreSQL, in an integration test). */
export function worldParkingIn<P extends ConstructorParameters<typeof Settler>[2]>(
  parking: P,
  logger = silentLogger,
) {
  const clock = new FakeClock();
  const producer = new RecordingProducer();
  const held = new InMemoryHeldDeliveries();
  const disabled: Array<[string, string]> = [];
  const health = new EndpointHealth(
    config,
    {
      disable: async (id: string, reason: string) => {
        disabled.push([id, reason]);
        // Only the first disable changes the row (EndpointsRepository.disable).
        return disabled.filter(([other]) => other === id).length === 1;
      },
    },
    { refreshEndpoint: async () => undefined, get: () => undefined },
    new InMemoryEndpointHealthStore(),
    clock,
    silentLogger,
  );
  const logged: AttemptRecord[] = [];
  const notified: Array<[string, ...unknown[]]> = [];
  const notifier = {
    endpointDisabled: async (...args: unknown[]) => void notified.push(['disabled', ...args]),
    disableAlreadyReported: () => void notified.push(['disabled again']),
    endpointFailing: (...args: unknown[]) => void notified.push(['failing', ...args]),
    deadLettered: (...args: unknown[]) => void notified.push(['dead letter', ...args]),
  };
  const registry = new Registry();
  const settler = new Settler(
    new RetryTopics(config, producer),
    held,
    parking,
    health,
    { append: (record: AttemptRecord) => void logged.push(record) },
    new DeliveryMetrics(registry),
    clock,
    logger,
    notifier,
  );
  const outcomes = async (): Promise<Record<string, number>> => {
    const metric = await registry.getSingleMetric('hookstream_deliveries_total')!.get();
    return Object.fromEntries(metric.values.map((v) => [String(v.labels.outcome), v.value]));
  };
  return { clock, producer, held, parking, health, disabled, logged, settler, outcomes, notified };
}

export const retryState: AttemptState = {
  ...FIRST_ATTEMPT,
  attempt: 2,
  firstAttemptAtMs: 1,
  dueAtMs: 99,
  lastError: 'HTTP 500',
};
