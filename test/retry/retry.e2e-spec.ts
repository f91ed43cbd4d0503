import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import type { ApiClient } from '../support/api';
import { collectTopic } from '../support/kafka';
import type { TestReceiver, ReceivedRequest } from '../support/receiver';
import { kafka, startStack, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/** Three retry tiers: attempts = 4. Jitter is +-20%, so a retry is never sooner than 0.8 x its delay. */
const DELAYS_MS = [500, 1000, 1500];

describe('retries: tiers, dead letters, strict ordering, health', () => {
  let stack: Stack;
  let namespace: string;
  let inputTopic: string;
  let receiver: TestReceiver;
  let producer: Producer;
  let api: ApiClient;

  beforeAll(async () => {
    stack = await startStack('retry', {
      HOOKSTREAM_RETRY_DELAYS: DELAYS_MS.map((ms) => `${ms}ms`).join(','),
      HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '1000',
    });
    ({ namespace, inputTopic, receiver, producer, api } = stack);
  });

  afterAll(() => stopStack(stack));

  const event = (tenantId: string, data: unknown, type = 'record.updated') => ({
    key: tenantId,
    value: JSON.stringify({
      specversion: '1.0',
      id: randomUUID(),
      source: '/tests',
      type,
      time: new Date().toISOString(),
      tenantid: tenantId,
      data,
    }),
  });

  const byEvent = (requests: ReceivedRequest[]) => {
    const groups = new Map<string, ReceivedRequest[]>();
    for (const request of requests) {
      const id = request.headers['webhook-id'];
      groups.set(id, [...(groups.get(id) ?? []), request]);
    }
    return groups;
  };

  it('retries a failing receiver until it recovers, never earlier than each tier delay', async () => {
    const tenant = await api.createTenant('Flaky');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/flaky'), maxConcurrency: 5 });
    // Every event fails its first two attempts, then succeeds.
    const failuresSeen = new Map<string, number>();
    receiver.respond('/flaky', (request) => {
      const seen = failuresSeen.get(request.headers['webhook-id']) ?? 0;
      failuresSeen.set(request.headers['webhook-id'], seen + 1);
      return seen < 2 ? { status: 503 } : { status: 200 };
    });
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [1, 2, 3, 4, 5].map((n) => event(tenant.id, { n })),
    });
    await waitFor(
      () => [...byEvent(receiver.on('/flaky')).values()].filter((r) => r.length === 3).length === 5,
      {
        what: () =>
          `5 events each attempted 3 times (got ${[...byEvent(receiver.on('/flaky')).values()].map((r) => r.length).join(',')})`,
      },
    );
    for (const attempts of byEvent(receiver.on('/flaky')).values()) {
      expect(attempts).toHaveLength(3);
      expect(attempts[1].receivedAtMs - attempts[0].receivedAtMs).toBeGreaterThanOrEqual(DELAYS_MS[0] * 0.8);
      expect(attempts[2].receivedAtMs - attempts[1].receivedAtMs).toBeGreaterThanOrEqual(DELAYS_MS[1] * 0.8);
      // The same event id and body on every attempt.
      expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    }
  });

  it('dead-letters after exactly 1 + number of delays attempts', async () => {
    const tenant = await api.createTenant('Dead');
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/always-500') });
    receiver.respond('/always-500', { status: 500 });
    const dlq = await collectTopic(kafka, `${namespace}.dlq`);
    try {
      await producer.send({ topic: inputTopic, acks: -1, messages: [event(tenant.id, { doomed: true })] });
      const dead = await waitFor(() => dlq.messages.find((m) => m.key === endpoint.id), {
        what: 'a dead letter',
      });
      expect(dead.headers['hs-reason']).toBe('attempts_exhausted');
      expect(dead.headers['hs-attempt']).toBe(String(1 + DELAYS_MS.length));
      expect(dead.headers['hs-last-status']).toBe('500');
      expect(receiver.on('/always-500')).toHaveLength(1 + DELAYS_MS.length);
    } finally {
      await dlq.stop();
    }
  });

  it('honours Retry-After on 429 (within the cap)', async () => {
    const tenant = await api.createTenant('Throttled');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/throttled') });
    receiver.respond('/throttled', (_request, index) =>
      index === 0 ? { status: 429, headers: { 'retry-after': '3' } } : { status: 200 },
    );
    await producer.send({ topic: inputTopic, acks: -1, messages: [event(tenant.id, { slow: true })] });
    await waitFor(() => receiver.on('/throttled').length >= 2, { what: 'the attempt after Retry-After' });
    const [first, second] = receiver.on('/throttled');
    expect(second.receivedAtMs - first.receivedAtMs).toBeGreaterThanOrEqual(3000);
  });

  it('disables an endpoint that answers 410 Gone, with the reason visible over REST', async () => {
    const tenant = await api.createTenant('Gone');
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/gone') });
    receiver.respond('/gone', { status: 410 });
    await producer.send({ topic: inputTopic, acks: -1, messages: [event(tenant.id, { n: 1 })] });
    const disabled = await waitFor(
      async () => {
        const current = await tenant.client.ok('GET', `/v1/endpoints/${endpoint.id}`);
        return current.enabled === false ? current : null;
      },
      { what: 'the endpoint to be disabled' },
    );
    expect(disabled.disabledReason).toMatch(/410/);
    expect(receiver.on('/gone')).toHaveLength(1);
    // Re-enabled, it receives new events again.
    receiver.respond('/gone', { status: 200 });
    await tenant.client.ok('PATCH', `/v1/endpoints/${endpoint.id}`, { enabled: true });
    await producer.send({ topic: inputTopic, acks: -1, messages: [event(tenant.id, { n: 2 })] });
    await waitFor(() => receiver.on('/gone').some((r) => JSON.parse(r.body).data.n === 2), {
      what: 'delivery after re-enable',
    });
  });

  it('keeps publish order on a strict endpoint that fails for a while, without holding up others', async () => {
    const tenant = await api.createTenant('Strict');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/strict'), ordering: 'strict' });
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/relaxed') });
    let failing = true;
    receiver.respond('/strict', () => (failing ? { status: 503 } : { status: 200 }));
    const count = 20;
    for (let seq = 0; seq < count; seq += 5) {
      await producer.send({
        topic: inputTopic,
        acks: -1,
        messages: [0, 1, 2, 3, 4].map((i) => event(tenant.id, { seq: seq + i })),
      });
    }
    // The relaxed endpoint gets everything while the strict one is still failing.
    await waitFor(() => receiver.on('/relaxed').length >= count, { what: `${count} events on /relaxed` });
    expect(failing).toBe(true);
    // Only the head of the line was attempted: the rest are parked behind it.
    const strictIds = new Set(receiver.on('/strict').map((r) => r.headers['webhook-id']));
    expect(strictIds.size).toBe(1);
    failing = false;
    const delivered = () => receiver.on('/strict').filter((r) => r.body && !failing);
    await waitFor(() => new Set(delivered().map((r) => r.headers['webhook-id'])).size >= count, {
      what: () =>
        `${count} events on /strict (got ${new Set(delivered().map((r) => r.headers['webhook-id'])).size})`,
    });
    // First successful delivery of each event, in arrival order, is publish order.
    const firstSuccess: number[] = [];
    const seen = new Set<string>();
    for (const request of receiver.on('/strict')) {
      const id = request.headers['webhook-id'];
      const seq = JSON.parse(request.body).data.seq as number;
      if (!seen.has(id) && firstSuccess.length < count) {
        seen.add(id);
        firstSuccess.push(seq);
      }
    }
    expect(firstSuccess).toEqual(Array.from({ length: count }, (_, i) => i));
  });
});

describe('retries: endpoint health (circuit and auto-disable)', () => {
  let stack: Stack;
  let inputTopic: string;
  let receiver: TestReceiver;
  let producer: Producer;
  let api: ApiClient;

  beforeAll(async () => {
    stack = await startStack('health', {
      HOOKSTREAM_INPUT_PARTITIONS: '1',
      HOOKSTREAM_DELIVERY_PARTITIONS: '1',
      HOOKSTREAM_RETRY_DELAYS: '500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms',
      HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '2',
      HOOKSTREAM_CIRCUIT_OPEN_FOR: '1500ms',
      HOOKSTREAM_DISABLE_AFTER: '4s',
    });
    ({ inputTopic, receiver, producer, api } = stack);
  });

  afterAll(() => stopStack(stack));

  it('opens the circuit after consecutive failures, then disables an endpoint failing for too long', async () => {
    const tenant = await api.createTenant('Unhealthy');
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/down'),
      maxConcurrency: 5,
    });
    receiver.respond('/down', { status: 500 });
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [1, 2, 3, 4, 5].map((n) => ({
        key: tenant.id,
        value: JSON.stringify({
          specversion: '1.0',
          id: randomUUID(),
          source: '/tests',
          type: 'record.updated',
          time: new Date().toISOString(),
          tenantid: tenant.id,
          data: { n },
        }),
      })),
    });
    const open = await waitFor(
      async () => {
        const current = await tenant.client.ok('GET', `/v1/endpoints/${endpoint.id}`);
        return current.circuitState === 'open' ? current : null;
      },
      { what: 'the circuit to open', intervalMs: 20 },
    );
    expect(open.enabled).toBe(true);
    // While open, deliveries wait in the retry tiers: with 5 events and 8 retries each, an endpoint
    // hammered without a circuit would see dozens of requests before it is disabled.
    const disabled = await waitFor(
      async () => {
        const current = await tenant.client.ok('GET', `/v1/endpoints/${endpoint.id}`);
        return current.enabled === false ? current : null;
      },
      { what: 'the endpoint to be disabled for failing too long', timeoutMs: 30_000 },
    );
    expect(disabled.disabledReason).toMatch(/failing for more than/);
    expect(receiver.on('/down').length).toBeLessThan(5 * 9);
  });
});
