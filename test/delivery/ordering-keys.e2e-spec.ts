import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import type { ApiClient } from '../support/api';
import type { ReceivedRequest, TestReceiver } from '../support/receiver';
import { startStack, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * How long the receiver takes to answer `seq`: about 20 ms, varied from 5 to 34 ms so that requests
 * in flight together would finish (and their successors start) out of order if nothing held a key.
 */
const answerMs = (seq: number) => 5 + ((seq * 7) % 30);

/**
 * Ordering keys on the real broker (src/domain/ordering-key.ts): deliveries with the same key go one
 * at a time and in order, different keys overlap up to the endpoint's maxConcurrency; `strict`
 * holds the later deliveries of a failing delivery's key only.
 */
describe('ordering keys', () => {
  let stack: Stack;
  let inputTopic: string;
  let receiver: TestReceiver;
  let producer: Producer;
  let api: ApiClient;

  beforeAll(async () => {
    stack = await startStack('order-keys', {
      HOOKSTREAM_RETRY_DELAYS: '500ms,500ms,500ms,500ms,500ms,500ms',
      HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '1000',
    });
    ({ inputTopic, receiver, producer, api } = stack);
  });

  afterAll(() => stopStack(stack));

  const event = (
    tenantId: string,
    data: { key: string; seq: number },
    attributes: Record<string, string>,
  ) => ({
    key: tenantId,
    value: JSON.stringify({
      specversion: '1.0',
      id: randomUUID(),
      source: '/tests',
      type: 'record.updated',
      time: new Date().toISOString(),
      tenantid: tenantId,
      ...attributes,
      data,
    }),
  });

  const dataOf = (request: ReceivedRequest) => JSON.parse(request.body).data as { key: string; seq: number };

  /**
   * Publishes `perKey` events for each key, in runs of `run` consecutive events of one key (so a
   * scheduler that ignored keys would have several of a key in flight), in a few batches.
   */
  async function publish(
    tenantId: string,
    keys: string[],
    perKey: number,
    attributes: (key: string) => Record<string, string>,
    run = 1,
  ): Promise<void> {
    const messages = [];
    for (let first = 0; first < perKey; first += run) {
      for (const key of keys) {
        for (let seq = first; seq < Math.min(perKey, first + run); seq++) {
          messages.push(event(tenantId, { key, seq }, attributes(key)));
        }
      }
    }
    for (let i = 0; i < messages.length; i += 50) {
      await producer.send({ topic: inputTopic, acks: -1, messages: messages.slice(i, i + 50) });
    }
  }

  it('delivers each key in order, one at a time, while keys overlap up to maxConcurrency', async () => {
    const tenant = await api.createTenant('Keys');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/keys'), maxConcurrency: 8 });
    receiver.respond('/keys', (request) => ({ status: 200, delayMs: answerMs(dataOf(request).seq) }));
    // Fewer keys than maxConcurrency, in runs of 6: without keys, a key's events would overlap.
    const keys = Array.from({ length: 4 }, (_, i) => `customer/${i}`);
    const perKey = 30;
    // partitionkey is the key; the subject (the same for all) must not be.
    await publish(tenant.id, keys, perKey, (key) => ({ partitionkey: key, subject: 'ledger' }), 6);
    const total = keys.length * perKey;
    await waitFor(() => receiver.on('/keys').length >= total, {
      timeoutMs: 120_000,
      what: () => `${total} deliveries on /keys (got ${receiver.on('/keys').length})`,
    });
    const requests = receiver.on('/keys');
    expect(requests).toHaveLength(total);

    const lastSeq = new Map<string, number>();
    const lastArrival = new Map<string, number>();
    let orderViolations = 0;
    let sameKeyOverlaps = 0;
    for (const request of requests) {
      const { key, seq } = dataOf(request);
      if ((lastSeq.get(key) ?? -1) !== seq - 1) orderViolations++;
      lastSeq.set(key, seq);
      const previous = lastArrival.get(key);
      // The next of a key is sent only once the one before is answered (timer slack of 2 ms).
      if (previous !== undefined && request.receivedAtMs - previous < answerMs(seq - 1) - 2)
        sameKeyOverlaps++;
      lastArrival.set(key, request.receivedAtMs);
    }
    expect({ orderViolations, sameKeyOverlaps }).toEqual({ orderViolations: 0, sameKeyOverlaps: 0 });
    expect(receiver.maxConcurrent('/keys')).toBeGreaterThan(1);
    expect(receiver.maxConcurrent('/keys')).toBeLessThanOrEqual(8);
  });

  it("none: raising maxConcurrency while one key's deliveries queue keeps them one at a time, in order (decision 101)", async () => {
    const tenant = await api.createTenant('RaiseKeys');
    const endpoint = await tenant.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: receiver.url('/raise'),
    });
    receiver.respond('/raise', { status: 200, delayMs: 150 });
    const key = (seq: number) => event(tenant.id, { key: 'order/1', seq }, { partitionkey: 'order/1' });
    // One at a time (maxConcurrency 1): twelve of one record queue behind each other, about 1.8 s.
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: Array.from({ length: 12 }, (_, seq) => key(seq)),
    });
    await waitFor(() => receiver.on('/raise').length >= 1, {
      timeoutMs: 30_000,
      what: () => 'a first delivery',
    });
    await tenant.client.ok('PATCH', `/v1/endpoints/${endpoint.id}`, { maxConcurrency: 4 });
    // Published after the raise: the lane learns it from these, with the earlier twelve still queued.
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: Array.from({ length: 4 }, (_, i) => key(12 + i)),
    });
    await waitFor(() => receiver.on('/raise').length >= 16, {
      timeoutMs: 60_000,
      what: () => `16 deliveries on /raise (got ${receiver.on('/raise').length})`,
    });
    expect(receiver.on('/raise').map((request) => dataOf(request).seq)).toEqual(
      Array.from({ length: 16 }, (_, seq) => seq),
    );
    // Before decision 101 the queued ones (no key asked for at maxConcurrency 1) started four at a time.
    expect(receiver.maxConcurrent('/raise')).toBe(1);
  });

  it('strict: a failing key holds only its own later deliveries, the other keys arrive', async () => {
    const tenant = await api.createTenant('StrictKeys');
    await tenant.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/strict-keys'),
      ordering: 'strict',
      maxConcurrency: 4,
    });
    let failing = true;
    receiver.respond('/strict-keys', (request) =>
      failing && dataOf(request).key === 'blocked' ? { status: 503 } : { status: 200 },
    );
    const perKey = 10;
    // The subject is the key here (no partitionkey).
    await publish(tenant.id, ['blocked', 'open-1', 'open-2'], perKey, (key) => ({ subject: key }));
    const delivered = (key: string) =>
      receiver.on('/strict-keys').filter((r) => r.status === 200 && dataOf(r).key === key);
    await waitFor(() => delivered('open-1').length >= perKey && delivered('open-2').length >= perKey, {
      timeoutMs: 60_000,
      what: () =>
        `the open keys' deliveries (got ${delivered('open-1').length}, ${delivered('open-2').length})`,
    });
    // Only the head of the blocked key was attempted: its later deliveries are parked behind it.
    const blockedIds = new Set(
      receiver
        .on('/strict-keys')
        .filter((r) => dataOf(r).key === 'blocked')
        .map((r) => r.headers['webhook-id']),
    );
    expect(blockedIds.size).toBe(1);
    failing = false;
    await waitFor(() => new Set(delivered('blocked').map((r) => r.headers['webhook-id'])).size >= perKey, {
      timeoutMs: 60_000,
      what: () => `${perKey} deliveries of the blocked key (got ${delivered('blocked').length})`,
    });
    for (const key of ['blocked', 'open-1', 'open-2']) {
      const firstSuccess: number[] = [];
      const seen = new Set<string>();
      for (const request of delivered(key)) {
        if (seen.has(request.headers['webhook-id'])) continue;
        seen.add(request.headers['webhook-id']);
        firstSuccess.push(dataOf(request).seq);
      }
      expect({ key, order: firstSuccess }).toEqual({
        key,
        order: Array.from({ length: perKey }, (_, i) => i),
      });
    }
  });

  it('strict: raising maxConcurrency while the whole stream is blocked keeps each record in order (decision 74)', async () => {
    const tenant = await api.createTenant('StrictRaised');
    const endpoint = await tenant.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: receiver.url('/strict-raised'),
      ordering: 'strict',
    });
    let failing = true;
    receiver.respond('/strict-raised', () => (failing ? { status: 503 } : { status: 200 }));
    // At maxConcurrency 1 the head fails and blocks the whole stream; the next two are parked.
    await publish(tenant.id, ['k'], 3, (key) => ({ subject: key }));
    const db = await stack.database.connect();
    const parked = async (): Promise<number> => {
      const [row] = await db.query<Array<{ count: string }>>(
        `SELECT count(*) FROM parked_deliveries WHERE endpoint_id = $1`,
        [endpoint.id],
      );
      return Number(row.count);
    };
    await waitFor(async () => (await parked()) === 2, {
      timeoutMs: 30_000,
      what: 'the two deliveries behind the failing head parked',
    });
    // Raised while blocked (the API answers once this process's cache has the change): later
    // deliveries of the record 'k' have the lane key 'k', and must still come after the parked ones.
    await tenant.client.ok('PATCH', `/v1/endpoints/${endpoint.id}`, { maxConcurrency: 4 });
    for (let seq = 3; seq < 5; seq++) {
      await producer.send({
        topic: inputTopic,
        acks: -1,
        messages: [event(tenant.id, { key: 'k', seq }, { subject: 'k' })],
      });
    }
    await waitFor(async () => (await parked()) === 4, {
      timeoutMs: 30_000,
      what: 'the deliveries published after the raise parked behind the whole stream',
    });
    failing = false;
    const firstSuccesses = (): number[] => {
      const seen = new Set<string>();
      const order: number[] = [];
      for (const request of receiver.on('/strict-raised').filter((r) => r.status === 200)) {
        if (seen.has(request.headers['webhook-id'])) continue;
        seen.add(request.headers['webhook-id']);
        order.push(dataOf(request).seq);
      }
      return order;
    };
    await waitFor(() => firstSuccesses().length >= 5, {
      timeoutMs: 60_000,
      what: () => `5 deliveries of 'k' (got ${JSON.stringify(firstSuccesses())})`,
    });
    expect(firstSuccesses()).toEqual([0, 1, 2, 3, 4]);
    await db.destroy();
  });
});
