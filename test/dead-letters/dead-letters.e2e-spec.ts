import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { collectTopic } from '../support/kafka';
import { waitForJob } from '../support/replay-jobs';
import { waitFor } from '../support/wait';
import {
  COUNTED_ATTEMPTS,
  kafka,
  startStack,
  stopStack,
  structuredEvent,
  type Stack,
} from '../support/stack';

const ATTEMPTS = 3; // 1 + the two delays of HOOKSTREAM_RETRY_DELAYS

describe('dead letters: DLQ mirror, listing and replay', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('dlq', COUNTED_ATTEMPTS);
  });
  afterAll(() => stopStack(stack));

  const requestsFor = (path: string, eventId: string) =>
    stack.receiver.on(path).filter((request) => request.headers['webhook-id'] === eventId);

  async function deadLettersOf(client: Stack['api'], endpointId: string, count: number) {
    return waitFor(
      async () => {
        const page = await client.ok('GET', `/v1/dead-letters?endpointId=${endpointId}`);
        return page.data.length === count ? page.data : null;
      },
      { what: `${count} dead letters of endpoint ${endpointId} over REST` },
    );
  }

  it('dead-letters after exactly the configured attempts, then a replay delivers with the same webhook-id', async () => {
    const { api, receiver, producer, inputTopic, dlqTopic } = stack;
    const tenant = await api.createTenant('Broken receiver');
    receiver.respond('/broken', { status: 500 });
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/broken') });
    const event = structuredEvent(tenant.id, 'record.updated', { n: 1 });
    const dlq = await collectTopic(kafka, dlqTopic);
    try {
      await producer.send({ topic: inputTopic, acks: -1, messages: [event.message] });
      const record = await waitFor(() => dlq.messages.find((message) => message.value?.includes(event.id)), {
        what: 'the dead letter on the DLQ topic',
      });
      expect(record.key).toBe(endpoint.id);
      expect(record.headers['hs-reason']).toBe('attempts_exhausted');
      expect(record.headers['hs-attempt']).toBe(String(ATTEMPTS));
    } finally {
      await dlq.stop();
    }
    expect(requestsFor('/broken', event.id)).toHaveLength(ATTEMPTS);

    const [deadLetter] = await deadLettersOf(tenant.client, endpoint.id, 1);
    expect(deadLetter).toMatchObject({
      endpointId: endpoint.id,
      eventId: event.id,
      eventType: 'record.updated',
      reason: 'attempts_exhausted',
      attempts: ATTEMPTS,
      replayedAt: null,
    });
    expect(deadLetter.lastError).toMatch(/500/);
    expect(deadLetter.deliveryId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(deadLetter.createdAt)).not.toBeNaN();

    receiver.respond('/broken', { status: 204 });
    const replay = await tenant.client.request('POST', `/v1/dead-letters/${deadLetter.id}/replay`);
    expect(replay).toMatchObject({ status: 202, body: { replayed: 1 } });

    await waitFor(() => requestsFor('/broken', event.id).length === ATTEMPTS + 1, {
      what: () => `the replayed delivery (got ${requestsFor('/broken', event.id).length} requests)`,
    });
    const replayed = requestsFor('/broken', event.id)[ATTEMPTS];
    const { key: secret } = await tenant.client.ok('GET', `/v1/endpoints/${endpoint.id}/secret`);
    const payload = new Webhook(secret).verify(replayed.body, replayed.headers) as any;
    expect(payload).toMatchObject({ id: event.id, type: 'record.updated', data: { n: 1 } });

    const [after] = await deadLettersOf(tenant.client, endpoint.id, 1);
    expect(after.replayedAt).not.toBeNull();
    // The attempt log tells the replay apart: a new delivery id, counted from attempt 1 again.
    const delivered = await waitFor(
      async () => {
        const page = await tenant.client.ok('GET', `/v1/endpoints/${endpoint.id}/attempts`);
        return page.data.find((attempt: any) => attempt.outcome === 'delivered');
      },
      { what: 'the delivered replay in the attempt log' },
    );
    expect(delivered).toMatchObject({ eventId: event.id, attempt: 1 });
    expect(delivered.deliveryId).not.toBe(deadLetter.deliveryId);
  });

  it('replays all not-yet-replayed dead letters of an endpoint, oldest first', async () => {
    const { api, receiver, producer, inputTopic, dlqTopic } = stack;
    const tenant = await api.createTenant('Endpoint-wide replay');
    receiver.respond('/down', { status: 503 });
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/down') });
    const events = [0, 1, 2].map((seq) => structuredEvent(tenant.id, 'record.updated', { seq }));
    const dlq = await collectTopic(kafka, dlqTopic);
    let dlqOrder: string[];
    try {
      await producer.send({ topic: inputTopic, acks: -1, messages: events.map((e) => e.message) });
      const mine = () =>
        dlq.messages
          .filter((message) => message.key === endpoint.id)
          .sort((a, b) => Number(a.offset) - Number(b.offset));
      await waitFor(() => mine().length === 3, { what: '3 dead letters on the DLQ topic' });
      dlqOrder = mine().map((message) => JSON.parse(message.value!).eventId as string);
    } finally {
      await dlq.stop();
    }
    const listed = await deadLettersOf(tenant.client, endpoint.id, 3);
    // One of them was replayed on its own already: the endpoint-wide replay skips it.
    const single = listed.find((deadLetter: any) => deadLetter.eventId === dlqOrder[1]);
    receiver.respond('/down', { status: 200 });
    await tenant.client.ok('POST', `/v1/dead-letters/${single.id}/replay`);
    await waitFor(() => receiver.on('/down').length === 3 * ATTEMPTS + 1, { what: 'the single replay' });

    const all = await tenant.client.request('POST', `/v1/endpoints/${endpoint.id}/dead-letters/replay`);
    expect(all).toMatchObject({ status: 202, body: { kind: 'dead_letters', state: 'queued' } });
    const job = await waitForJob(tenant.client, all.body.id, 'succeeded');
    expect(job.counts).toEqual({ read: 2, matched: 2, replayed: 2 });
    expect(job.resumePoint.lastDeadLetterId).toBe(
      listed.find((deadLetter: any) => deadLetter.eventId === dlqOrder[2]).id,
    );
    await waitFor(() => receiver.on('/down').length === 3 * ATTEMPTS + 3, {
      what: () => `2 more replayed deliveries (got ${receiver.on('/down').length - 3 * ATTEMPTS})`,
    });
    const replayedOrder = receiver
      .on('/down')
      .slice(3 * ATTEMPTS + 1)
      .map((request) => request.headers['webhook-id']);
    expect(replayedOrder).toEqual([dlqOrder[0], dlqOrder[2]]);

    const again = await tenant.client.request('POST', `/v1/endpoints/${endpoint.id}/dead-letters/replay`);
    expect(again.status).toBe(202);
    expect((await waitForJob(tenant.client, again.body.id, 'succeeded')).counts.replayed).toBe(0);
    const final = await deadLettersOf(tenant.client, endpoint.id, 3);
    expect(final.every((deadLetter: any) => deadLetter.replayedAt !== null)).toBe(true);
  });

  it('lists bad input with its reason and refuses to replay it', async () => {
    const { api, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Bad input');
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [
        {
          key: tenant.id,
          value: JSON.stringify({ specversion: '1.0', id: 'no-type', source: '/t', tenantid: tenant.id }),
        },
        { key: tenant.id, value: Buffer.from([0xff, 0x00, 0x13]) },
      ],
    });
    const [deadLetter] = await waitFor(
      async () => {
        const page = await tenant.client.ok('GET', '/v1/dead-letters');
        return page.data.length ? page.data : null;
      },
      { what: 'the bad event among the tenant’s dead letters' },
    );
    expect(deadLetter).toMatchObject({
      endpointId: null,
      deliveryId: null,
      eventId: 'no-type',
      reason: 'missing_attribute',
      attempts: 0,
    });
    expect(deadLetter.lastError).toMatch(/type/);
    const refused = await tenant.client.request('POST', `/v1/dead-letters/${deadLetter.id}/replay`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/bad input.*cannot be replayed/);
  });

  it('refuses to replay to a disabled endpoint', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Disabled');
    receiver.respond('/disabled', { status: 500 });
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/disabled') });
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [structuredEvent(tenant.id, 'record.updated', {}).message],
    });
    const [deadLetter] = await deadLettersOf(tenant.client, endpoint.id, 1);
    await tenant.client.ok('PATCH', `/v1/endpoints/${endpoint.id}`, { enabled: false });
    for (const path of [
      `/v1/dead-letters/${deadLetter.id}/replay`,
      `/v1/endpoints/${endpoint.id}/dead-letters/replay`,
      `/v1/endpoints/${endpoint.id}/test`,
    ]) {
      const refused = await tenant.client.request('POST', path);
      expect({ path, status: refused.status, message: refused.body.message }).toEqual({
        path,
        status: 409,
        message: 'endpoint is disabled; enable it first',
      });
    }
  });

  it("answers 404 for another tenant's dead letters and endpoints on every route", async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const owner = await api.createTenant('Owner');
    const other = await api.createTenant('Other');
    receiver.respond('/owned', { status: 500 });
    const endpoint = await owner.client.ok('POST', '/v1/endpoints', { url: receiver.url('/owned') });
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [structuredEvent(owner.id, 'record.updated', {}).message],
    });
    const [deadLetter] = await deadLettersOf(owner.client, endpoint.id, 1);

    const listed = await other.client.ok('GET', `/v1/dead-letters?endpointId=${endpoint.id}`);
    expect(listed.data).toEqual([]);
    const routes: Array<[string, string, unknown?]> = [
      ['POST', `/v1/dead-letters/${deadLetter.id}/replay`],
      ['POST', `/v1/endpoints/${endpoint.id}/dead-letters/replay`],
      ['POST', `/v1/endpoints/${endpoint.id}/replay`, { since: new Date(Date.now() - 60_000).toISOString() }],
      ['POST', `/v1/endpoints/${endpoint.id}/test`],
      ['POST', `/v1/dead-letters/${randomUUID()}/replay`],
      ['POST', '/v1/dead-letters/not-a-uuid/replay'],
    ];
    for (const [method, path, body] of routes) {
      const response = await other.client.request(method, path, body);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
    }
    // Nothing was replayed on the other tenant's behalf.
    const [unchanged] = await deadLettersOf(owner.client, endpoint.id, 1);
    expect(unchanged.replayedAt).toBeNull();
  });

  it('pages newest first with a cursor and filters by time', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Paging');
    receiver.respond('/paging', { status: 500 });
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url('/paging') });
    await producer.send({
      topic: inputTopic,
      acks: -1,
      messages: [0, 1, 2, 3, 4].map((seq) => structuredEvent(tenant.id, 'record.updated', { seq }).message),
    });
    const all = await deadLettersOf(tenant.client, endpoint.id, 5);
    const pages: any[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/dead-letters?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page: any = await tenant.client.ok('GET', query);
      pages.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor);
    expect(pages.map((deadLetter) => deadLetter.id)).toEqual(all.map((deadLetter: any) => deadLetter.id));
    const times = pages.map((deadLetter) => Date.parse(deadLetter.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await tenant.client.ok('GET', `/v1/dead-letters?since=${future}`)).data).toEqual([]);
    const untilOldest = new Date(times[times.length - 1] + 1).toISOString();
    const oldest = await tenant.client.ok('GET', `/v1/dead-letters?until=${untilOldest}`);
    expect(oldest.data.map((deadLetter: any) => deadLetter.id)).toContain(pages[pages.length - 1].id);
    expect((await tenant.client.request('GET', '/v1/dead-letters?cursor=garbage')).status).toBe(400);
    expect((await tenant.client.request('GET', '/v1/dead-letters?endpointId=nope')).status).toBe(400);
    // ISO 8601 by the letter, but no Date reads it: refused, not a failed query.
    const weekDate = await tenant.client.request('GET', '/v1/dead-letters?since=2026-W01');
    expect([weekDate.status, JSON.stringify(weekDate.body)]).toEqual([400, expect.stringContaining('since')]);
  });
});
