import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { ApiClient } from '../support/api';
import { kafka, startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/** Retry tiers short enough that a shed or retried delivery comes back within a test. */
const TWO_TIERS = { HOOKSTREAM_RETRY_DELAYS: '1s,2s' };

describe('delivery: events in, signed webhooks out', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('delivery', TWO_TIERS);
  });
  afterAll(() => stopStack(stack));

  it('delivers events from Kafka (structured and binary) and from POST /v1/events, signed per Standard Webhooks', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Acme');
    const records = await tenant.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/records'),
      eventTypes: ['record.*'],
    });
    const everything = await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/all') });

    const structured = structuredEvent(tenant.id, 'record.updated', { recordId: 'r1' }).message;
    const binaryId = randomUUID();
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [
        structured,
        {
          key: tenant.id,
          value: JSON.stringify({ status: 'active' }),
          headers: {
            ce_specversion: '1.0',
            ce_id: binaryId,
            ce_source: '/tests',
            ce_type: 'status.changed',
            ce_tenantid: tenant.id,
            'content-type': 'application/json',
          },
        },
      ],
    });
    const published = await tenant.client.request('POST', '/v1/events', {
      type: 'transaction.processed',
      data: { amount: 42 },
    });
    expect(published.status).toBe(202);

    await waitFor(() => receiver.on('/all').length >= 3 && receiver.on('/records').length >= 1, {
      what: () =>
        `3 deliveries on /all and 1 on /records (got ${receiver.on('/all').length}, ${receiver.on('/records').length})`,
    });
    expect(receiver.on('/records')).toHaveLength(1);

    const secretOf = async (id: string) =>
      (await tenant.client.ok('GET', `/v1/endpoints/${id}/secret`)).key as string;
    const allSecret = await secretOf(everything.id);
    const byType = new Map<string, { id: string; data: unknown }>();
    for (const request of receiver.on('/all')) {
      const verified = new Webhook(allSecret).verify(request.body, request.headers) as any;
      expect(request.headers['webhook-id']).toBe(verified.id);
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['user-agent']).toMatch(/^Hookstream/);
      byType.set(verified.type, verified);
    }
    expect(byType.get('record.updated')).toMatchObject({
      id: JSON.parse(structured.value).id,
      data: { recordId: 'r1' },
    });
    expect(byType.get('status.changed')).toMatchObject({ id: binaryId, data: { status: 'active' } });
    expect(byType.get('transaction.processed')).toMatchObject({
      id: published.body.id,
      data: { amount: 42 },
    });
    const recordsSecret = await secretOf(records.id);
    expect(() =>
      new Webhook(recordsSecret).verify(receiver.on('/records')[0].body, receiver.on('/records')[0].headers),
    ).not.toThrow();

    // Every attempt lands in the attempt log, written in batches.
    const attempts = await waitFor(
      async () => {
        const page = await tenant.client.ok('GET', `/v1/endpoints/${everything.id}/attempts`);
        return page.data.length === 3 ? page : null;
      },
      { what: '3 attempts in the log' },
    );
    expect(attempts.data.every((a: any) => a.outcome === 'delivered' && a.attempt === 1)).toBe(true);
  });

  it('lists 100 attempts with 64 KiB bodies of control characters in under 1 MB, each whole body one GET away', async () => {
    const tenant = await stack.api.createTenant('Big bodies');
    const [endpoint, other] = await Promise.all(
      ['/quiet-a', '/quiet-b'].map((path) =>
        tenant.client.ok('POST', '/v1/endpoints', { url: stack.receiver.url(path), eventTypes: ['other.*'] }),
      ),
    );
    // JSON writes U+0001 as \u0001: 6 bytes a character, so 100 whole bodies would be 39 MB.
    const body = '\u0001'.repeat(65_536);
    const db = await stack.database.connect();
    await db.query(
      `INSERT INTO delivery_attempts (endpoint_id, tenant_id, event_id, delivery_id, attempt, outcome, status_code,
         latency_ms, response_body, attempted_at)
       SELECT $1, $2, 'evt-' || n, gen_random_uuid(), 1, 'failed', 500, 5, $4, now() - interval '1 hour' + n * interval '1 ms'
         FROM generate_series(1, $3::int) n`,
      [endpoint.id, tenant.id, 150, body],
    );
    const path = `/v1/endpoints/${endpoint.id}/attempts`;
    const first = await tenant.client.request('GET', `${path}?limit=100`);
    expect(first.status).toBe(200);
    expect(Number(first.headers.get('content-length'))).toBeLessThan(1_000_000);
    expect(first.body.data).toHaveLength(100);
    for (const attempt of first.body.data) {
      expect([attempt.responseBody, attempt.responseBodyTruncated]).toEqual([body.slice(0, 1024), true]);
    }
    // The cursor still leads on from the last attempt listed.
    const second = await tenant.client.ok('GET', `${path}?limit=100&cursor=${first.body.nextCursor}`);
    expect(second.nextCursor).toBeNull();
    const events = [...first.body.data, ...second.data].map((attempt: any) => attempt.eventId);
    expect(events).toEqual(Array.from({ length: 150 }, (_, i) => `evt-${150 - i}`));

    const newest = first.body.data[0];
    const { responseBodyTruncated: _truncated, ...listed } = newest;
    expect(await tenant.client.ok('GET', `${path}/${newest.id}`)).toStrictEqual({
      ...listed,
      responseBody: body,
    });
    // Only through its own endpoint and tenant; an id that is no attempt's is refused.
    expect(
      (await tenant.client.request('GET', `/v1/endpoints/${other.id}/attempts/${newest.id}`)).status,
    ).toBe(404);
    const stranger = await stack.api.createTenant('Not the owner');
    expect((await stranger.client.request('GET', `${path}/${newest.id}`)).status).toBe(404);
    expect((await tenant.client.request('GET', `${path}/99999999999999999999`)).status).toBe(400);
    expect((await tenant.client.request('GET', `${path}/nope`)).status).toBe(400);
  });

  it('dead-letters bad input with a reason and keeps delivering the good events around it', async () => {
    const { api, receiver, producer, inputTopic, namespace } = stack;
    const tenant = await api.createTenant('Bad input');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/bad-input') });
    const good = [1, 2, 3].map((n) => structuredEvent(tenant.id, 'record.updated', { n }).message);
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [
        good[0],
        { key: tenant.id, value: Buffer.from([0xff, 0x00, 0x13, 0x37]) },
        { key: tenant.id, value: '{"specversion":"1.0","id":"x"' },
        good[1],
        structuredEvent(randomUUID(), 'record.updated', {}).message,
        {
          key: tenant.id,
          value: JSON.stringify({ specversion: '1.0', id: 'no-type', source: '/t', tenantid: tenant.id }),
        },
        good[2],
      ],
    });
    await waitFor(() => receiver.on('/bad-input').length >= 3, { what: '3 good events delivered' });
    const delivered = receiver.on('/bad-input').map((r) => JSON.parse(r.body).data.n);
    expect(delivered).toEqual([1, 2, 3]);

    const { collectTopic } = await import('../support/kafka');
    const dlq = await collectTopic(kafka, `${namespace}.dlq`);
    try {
      await waitFor(() => dlq.messages.length >= 4, { what: '4 dead letters' });
      expect(dlq.messages.map((m) => m.headers['hs-reason']).sort()).toEqual([
        'invalid_json',
        'invalid_json',
        'missing_attribute',
        'unknown_tenant',
      ]);
      expect(dlq.messages.every((m) => m.headers['hs-reason-detail'].length > 0)).toBe(true);
    } finally {
      await dlq.stop();
    }
  });

  it('keeps per-endpoint order with many endpoints on few partitions', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Ordered');
    const paths = Array.from({ length: 12 }, (_, i) => `/ordered-${i}`);
    for (const path of paths) await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url(path) });
    const count = 60;
    for (let batch = 0; batch < count; batch += 10) {
      await producer.send({
        topic: inputTopic,
        acks: -1,
        messages: Array.from(
          { length: 10 },
          (_, i) => structuredEvent(tenant.id, 'record.updated', { seq: batch + i }).message,
        ),
      });
    }
    await waitFor(() => paths.every((path) => receiver.on(path).length >= count), {
      what: () => `${count} events on each of ${paths.length} endpoints`,
    });
    for (const path of paths) {
      const seqs = receiver.on(path).map((r) => JSON.parse(r.body).data.seq as number);
      expect(seqs).toEqual(Array.from({ length: count }, (_, i) => i));
    }
  });

  it('does not let a receiver that never answers slow the others on its partition', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Isolation');
    receiver.respond('/never', { hang: true });
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/never') });
    const healthy = ['/h1', '/h2', '/h3', '/h4'];
    for (const path of healthy) await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url(path) });
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: Array.from(
        { length: 30 },
        (_, seq) => structuredEvent(tenant.id, 'record.updated', { seq }).message,
      ),
    });
    await waitFor(() => healthy.every((path) => receiver.on(path).length >= 30), {
      what: () =>
        `30 events on each healthy endpoint (got ${healthy.map((p) => receiver.on(p).length).join(',')})`,
    });
    // Everything reached the healthy endpoints while the dead one still holds its first request
    // (the delivery timeout is 15 s): nothing queued behind it.
    expect(receiver.on('/never')).toHaveLength(1);
  });
});

describe('delivery: a hanging endpoint with more backlog than the partition window', () => {
  let stack: Stack;
  beforeAll(async () => {
    // One delivery partition, a window of 20 records and a delivery timeout far past the test's
    // deadline: without shedding, the hanging endpoint's queued records fill the window and the
    // partition (and the healthy endpoint on it) waits for the timeout.
    stack = await startStack('delivery-shed', {
      ...TWO_TIERS,
      HOOKSTREAM_DELIVERY_PARTITIONS: '1',
      HOOKSTREAM_PARTITION_WINDOW: '20',
      HOOKSTREAM_DELIVERY_TIMEOUT: '2m',
      HOOKSTREAM_LANE_STALL_AFTER: '300ms',
    });
  });
  afterAll(() => stopStack(stack));

  it("moves the stalled lane's backlog to a retry tier so the healthy endpoint gets every event", async () => {
    const { api, receiver, producer, inputTopic, service } = stack;
    const tenant = await api.createTenant('Shed');
    receiver.respond('/stuck', { hang: true });
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/stuck') });
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/healthy') });
    const count = 300;
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: Array.from(
        { length: count },
        (_, seq) => structuredEvent(tenant.id, 'record.updated', { seq }).message,
      ),
    });
    await waitFor(() => new Set(receiver.on('/healthy').map((r) => r.headers['webhook-id'])).size >= count, {
      timeoutMs: 60_000,
      what: () => `${count} events at /healthy (got ${receiver.on('/healthy').length})`,
    });
    expect(receiver.on('/stuck')).toHaveLength(1);
    const metrics = await fetch(`${service.url}/metrics`).then((response) => response.text());
    const shed = /hookstream_deliveries_total\{outcome="shed"\} (\d+)/.exec(metrics);
    expect(Number(shed?.[1] ?? 0)).toBeGreaterThan(0);
  });
});

describe('delivery: at least once across a crash', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('crash', {
      ...TWO_TIERS,
      HOOKSTREAM_DELIVERY_PARTITIONS: '3',
      HOOKSTREAM_INPUT_PARTITIONS: '3',
    });
  });
  afterAll(() => stopStack(stack));

  it('loses no event when the service is killed with SIGKILL mid-stream and restarted', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Crash');
    const paths = ['/c1', '/c2', '/c3'];
    for (const path of paths) await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url(path) });
    receiver.respond('/c1', { status: 200, delayMs: 2 });
    const total = 1500;
    const ids = Array.from({ length: total }, () => randomUUID());
    const publishing = (async () => {
      for (let i = 0; i < total; i += 100) {
        await producer.send({
          topic: inputTopic,
          acks: -1,
          messages: ids
            .slice(i, i + 100)
            .map((id, j) => structuredEvent(tenant.id, 'record.updated', { seq: i + j }, id).message),
        });
      }
    })();
    await waitFor(() => receiver.on('/c1').length >= 200, { what: '200 deliveries before the crash' });
    await stack.service.kill();
    const beforeRestart = receiver.requests.length;
    await stack.boot('crash-restarted');
    await publishing;
    const uniqueOn = (path: string) => new Set(receiver.on(path).map((r) => r.headers['webhook-id'])).size;
    await waitFor(() => paths.every((path) => uniqueOn(path) === total), {
      timeoutMs: 90_000,
      what: () => `${total} unique events on each endpoint (got ${paths.map(uniqueOn).join(', ')})`,
    });
    for (const path of paths) {
      const received = new Set(receiver.on(path).map((r) => r.headers['webhook-id']));
      expect(ids.filter((id) => !received.has(id))).toEqual([]);
    }
    const duplicates = receiver.requests.length - total * paths.length;
    // At least once: duplicates are allowed (the in-flight window at the kill), loss is not.
    expect(duplicates).toBeGreaterThanOrEqual(0);
    expect(beforeRestart).toBeLessThan(total * paths.length);
    console.log(
      `crash test: ${total * paths.length} deliveries expected, ${duplicates} duplicates after SIGKILL`,
    );
  });

  it('fans out a backlog larger than one produce request (found by the chaos run)', async () => {
    const { receiver, producer, inputTopic } = stack;
    // The crash test restarted the service on a new port.
    const tenant = await new ApiClient(stack.service.url).createTenant('Backlog');
    const paths = ['/b1', '/b2', '/b3', '/b4', '/b5'];
    for (const path of paths) {
      await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url(path), maxConcurrency: 20 });
    }
    expect(await stack.service.stop()).toBe(0);
    // Published while the service is down: the fan-out then fetches it in large batches whose five-fold
    // fan-out is megabytes, more than the broker takes in one record batch.
    const total = 3000;
    const padding = 'p'.repeat(300);
    for (let i = 0; i < total; i += 500) {
      await producer.send({
        topic: inputTopic,
        acks: -1,
        messages: Array.from(
          { length: 500 },
          (_, j) => structuredEvent(tenant.id, 'record.updated', { seq: i + j, padding }).message,
        ),
      });
    }
    await stack.boot('backlog');
    const uniqueOn = (path: string) => new Set(receiver.on(path).map((r) => r.headers['webhook-id'])).size;
    await waitFor(() => paths.every((path) => uniqueOn(path) === total), {
      timeoutMs: 120_000,
      what: () => `${total} events on each of 5 endpoints (got ${paths.map(uniqueOn).join(', ')})`,
    });
  });
});
