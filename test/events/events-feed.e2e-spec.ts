import { COUNTED_ATTEMPTS, startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import type { ApiClient } from '../support/api';
import { waitFor } from '../support/wait';

const ATTEMPTS = 3; // 1 + the two delays of COUNTED_ATTEMPTS

interface FeedEvent {
  id: string;
  type: string;
  receivedAt: string;
  data: unknown;
}

/** README decision 40: the events feed, on the real broker and database. */
describe('events feed: GET /v1/events and GET /v1/events/:id', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('events-feed', COUNTED_ATTEMPTS);
  });
  afterAll(() => stopStack(stack));

  /** Every page of the feed from `cursor`, `limit` at a time, checking each page's own promises. */
  async function readAll(client: ApiClient, query: string, limit: number, cursor?: string) {
    const events: FeedEvent[] = [];
    let pages = 0;
    for (;;) {
      const after = cursor === undefined ? '' : `&cursor=${cursor}`;
      const page = await client.ok('GET', `/v1/events?limit=${limit}${query}${after}`);
      pages += 1;
      expect(page.data.length).toBeLessThanOrEqual(limit);
      events.push(...page.data);
      if (page.data.length > 0) expect(page.nextCursor).not.toBe(cursor);
      cursor = page.nextCursor;
      if (!page.hasMore) return { events, pages, cursor };
    }
  }

  const publishToKafka = (
    tenantId: string,
    types: string[],
    data: (i: number) => unknown = (i) => ({ i }),
  ) => {
    const events = types.map((type, i) => structuredEvent(tenantId, type, data(i)));
    return stack.producer
      .send({ topic: stack.inputTopic, acks: -1, messages: events.map((event) => event.message) })
      .then(() => events.map((event) => event.id));
  };

  let tenantA: { id: string; apiKey: string; client: ApiClient };
  let published: string[];

  it('lists what was published over Kafka and REST, matched or not, oldest first, paged through by the cursor', async () => {
    tenantA = await stack.api.createTenant('Feed A');
    stack.receiver.respond('/a', { status: 204 });
    await tenantA.client.ok('POST', '/v1/endpoints', {
      url: stack.receiver.url('/a'),
      eventTypes: ['record.*'],
    });
    const types = ['record.created', 'status.changed', 'record.updated', 'invoice.paid', 'record.deleted'];
    const viaKafka = await publishToKafka(tenantA.id, [...types, 'status.changed', 'record.created']);
    const viaRest: string[] = [];
    for (const type of ['invoice.paid', 'record.updated', 'nobody.listens']) {
      const { id } = await tenantA.client.ok('POST', '/v1/events', { type, data: { rest: type } });
      viaRest.push(id);
    }
    published = [...viaKafka, ...viaRest];

    const all = await waitFor(
      async () => {
        const read = await readAll(tenantA.client, '', 3);
        return read.events.length === published.length ? read : null;
      },
      { what: `${published.length} events in the feed` },
    );
    expect(all.events.map((event) => event.id)).toEqual(published);
    expect(all.pages).toBe(4);
    expect(all.events[0]).toMatchObject({ type: 'record.created', data: { i: 0 } });
    expect(all.events[8]).toMatchObject({ type: 'record.updated', data: { rest: 'record.updated' } });

    // The cursor of the last page, kept and polled with, lists only what came later; until then nothing.
    const idle = await tenantA.client.ok('GET', `/v1/events?cursor=${all.cursor}`);
    expect(idle).toEqual({ data: [], nextCursor: all.cursor, hasMore: false, gap: false });
    const [later] = await publishToKafka(tenantA.id, ['record.updated']);
    const next = await waitFor(
      async () => {
        const page = await tenantA.client.ok('GET', `/v1/events?cursor=${all.cursor}`);
        return page.data.length > 0 ? page : null;
      },
      { what: 'the later event after the kept cursor' },
    );
    expect(next.data.map((event: FeedEvent) => event.id)).toEqual([later]);
    published.push(later);
  });

  it('keeps the data exactly as delivered, any valid JSON', async () => {
    const raw =
      '{"__proto__":{"polluted":true},"text":"é\\u0000\\ud800","big":1e300,"nested":[null,{"a":[]}]}';
    const [id] = await publishToKafka(tenantA.id, ['record.raw'], () => JSON.parse(raw));
    published.push(id);
    const event = await waitFor(
      async () => {
        const response = await tenantA.client.request('GET', `/v1/events/${id}`);
        return response.status === 200 ? response.body : null;
      },
      { what: 'the raw event' },
    );
    expect(JSON.stringify(event.data)).toBe(JSON.stringify(JSON.parse(raw)));
    expect(Object.keys(event.data)).toContain('__proto__');
  });

  it('filters by types (exact and prefix) and by received time, the cursor paging through filtered pages', async () => {
    const all = (await readAll(tenantA.client, '', 100)).events;
    expect(all.map((event) => event.id)).toEqual(published);
    const typesOf = async (query: string) =>
      (await readAll(tenantA.client, query, 2)).events.map((event) => event.type);
    expect(await typesOf('&types=record.*')).toEqual(
      all.filter((event) => event.type.startsWith('record.')).map((event) => event.type),
    );
    expect(await typesOf('&types=status.changed,invoice.*')).toEqual([
      'status.changed',
      'invoice.paid',
      'status.changed',
      'invoice.paid',
    ]);
    expect(await typesOf('&types=*')).toHaveLength(all.length);
    expect(await typesOf('&types=record')).toEqual([]);

    const from = all[4].receivedAt;
    const to = all[9].receivedAt;
    const inRange = (await readAll(tenantA.client, `&from=${from}&to=${to}`, 2)).events.map((e) => e.id);
    expect(inRange).toEqual(all.filter((e) => e.receivedAt >= from && e.receivedAt < to).map((e) => e.id));
    expect(inRange).toContain(all[4].id);
    expect(inRange).not.toContain(all[9].id);
  });

  it('answers 400 naming the bad parameter', async () => {
    for (const [query, field] of [
      ['types=record.*.x', 'types'],
      ['types=a*', 'types'],
      ['from=yesterday', 'from'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['cursor=bm9wZQ', 'cursor'],
      ['from=2026-12-02T12:00:00Z&to=2026-12-01T12:00:00Z', 'from'],
      // ISO 8601 by the letter, but no Date reads it (a week date): it reached PostgreSQL, 500.
      ['from=2026-W01', 'from'],
      ['to=2026-W01-1', 'to'],
      // A seq past PostgreSQL's bigint: the query failed, 500.
      [
        `cursor=${Buffer.from(JSON.stringify(['e1', '1', '9223372036854775808'])).toString('base64url')}`,
        'cursor',
      ],
    ]) {
      const response = await tenantA.client.request('GET', `/v1/events?${query}`);
      expect([query, response.status]).toEqual([query, 400]);
      expect(JSON.stringify(response.body)).toContain(field);
    }
  });

  it("shows another tenant none of it: an empty feed, and 404 for the other tenant's event", async () => {
    const other = await stack.api.createTenant('Feed B');
    expect(await other.client.ok('GET', '/v1/events')).toEqual({
      data: [],
      nextCursor: null,
      hasMore: false,
      gap: false,
    });
    // A cursor is bound to its tenant: A's is no position in B's feed.
    const { nextCursor } = await tenantA.client.ok('GET', '/v1/events?limit=1');
    expect((await other.client.request('GET', `/v1/events?cursor=${nextCursor}`)).status).toBe(400);
    expect((await other.client.request('GET', `/v1/events/${published[0]}`)).status).toBe(404);
    expect((await tenantA.client.request('GET', '/v1/events/no-such-event')).status).toBe(404);
  });

  it('GET /v1/events/:id shows each matching endpoint with its state and attempts: delivered, dead-lettered', async () => {
    const tenant = await stack.api.createTenant('Feed states');
    stack.receiver.respond('/good', { status: 204 });
    stack.receiver.respond('/bad', { status: 500 });
    const good = await tenant.client.ok('POST', '/v1/endpoints', { url: stack.receiver.url('/good') });
    const bad = await tenant.client.ok('POST', '/v1/endpoints', { url: stack.receiver.url('/bad') });
    await tenant.client.ok('POST', '/v1/endpoints', {
      url: stack.receiver.url('/elsewhere'),
      eventTypes: ['other.*'],
    });
    const [id] = await publishToKafka(tenant.id, ['record.updated']);

    const seen = new Set<string>();
    const event = await waitFor(
      async () => {
        const response = await tenant.client.request('GET', `/v1/events/${id}`);
        if (response.status !== 200) return null;
        for (const delivery of response.body.deliveries) seen.add(`${delivery.endpointId}:${delivery.state}`);
        const bySide = (endpointId: string) =>
          response.body.deliveries.find((delivery: any) => delivery.endpointId === endpointId);
        const done =
          bySide(good.id)?.state === 'delivered' &&
          bySide(bad.id)?.state === 'dead_lettered' &&
          bySide(bad.id)?.attempts.length === ATTEMPTS;
        return done ? response.body : null;
      },
      { what: () => `one endpoint delivered and one dead-lettered (seen ${[...seen].join(', ')})` },
    );
    expect(event).toMatchObject({ id, type: 'record.updated', source: '/tests' });
    expect(event.deliveries).toHaveLength(2);
    const goodSide = event.deliveries.find((delivery: any) => delivery.endpointId === good.id);
    expect(goodSide).toMatchObject({ url: stack.receiver.url('/good'), state: 'delivered' });
    expect(goodSide.attempts).toEqual([
      expect.objectContaining({ eventId: id, attempt: 1, outcome: 'delivered' }),
    ]);
    const badSide = event.deliveries.find((delivery: any) => delivery.endpointId === bad.id);
    expect(
      badSide.attempts.map((attempt: any) => [attempt.attempt, attempt.outcome, attempt.statusCode]),
    ).toEqual([
      [1, 'failed', 500],
      [2, 'failed', 500],
      [3, 'failed', 500],
    ]);
    // On its way the failing endpoint was seen retrying (or not yet attempted), never delivered.
    expect(seen.has(`${bad.id}:delivered`)).toBe(false);
  });

  /** A tenant with endpoints A and B that match nothing, and one event in its feed. */
  async function eventWithTwoEndpoints(name: string) {
    const tenant = await stack.api.createTenant(name);
    const [a, b] = await Promise.all(
      ['/quiet-a', '/quiet-b'].map((path) =>
        tenant.client.ok('POST', '/v1/endpoints', { url: stack.receiver.url(path), eventTypes: ['other.*'] }),
      ),
    );
    const [id] = await publishToKafka(tenant.id, ['record.updated']);
    await waitFor(async () => (await tenant.client.request('GET', `/v1/events/${id}`)).status === 200, {
      what: `event ${id} in the feed`,
    });
    return { tenant, a: a.id as string, b: b.id as string, id };
  }

  /** `count` failed attempts of the event at `endpointId`, an hour ago, each with `body`. */
  async function logFailedAttempts(
    tenantId: string,
    endpointId: string,
    eventId: string,
    count: number,
    body: string,
  ) {
    const db = await stack.database.connect();
    await db.query(
      `INSERT INTO delivery_attempts (endpoint_id, tenant_id, event_id, delivery_id, attempt, outcome, status_code,
         latency_ms, response_body, attempted_at)
       SELECT $1, $2, $3, gen_random_uuid(), n, 'failed', 500, 5, $5, now() - interval '1 hour' + n * interval '1 ms'
         FROM generate_series(1, $4::int) n`,
      [endpointId, tenantId, eventId, count, body],
    );
    return db;
  }

  it("GET /v1/events/:id: one endpoint's 1,000 attempts crowd out neither another's newest nor its state", async () => {
    const { tenant, a, b, id } = await eventWithTwoEndpoints('Feed long history');
    const db = await logFailedAttempts(tenant.id, a, id, 1000, 'no');
    await db.query(
      `INSERT INTO delivery_attempts (endpoint_id, tenant_id, event_id, delivery_id, attempt, outcome, status_code,
         latency_ms, response_body, attempted_at)
       VALUES ($1, $2, $3, gen_random_uuid(), 1, 'delivered', 204, 5, 'ok', now())`,
      [b, tenant.id, id],
    );
    const event = await tenant.client.ok('GET', `/v1/events/${id}`);
    const side = (endpointId: string) => event.deliveries.find((d: any) => d.endpointId === endpointId);
    expect(side(b)).toMatchObject({ state: 'delivered', attemptCount: 1, attemptsLeftOut: 0 });
    expect(side(b).attempts.map((attempt: any) => attempt.outcome)).toEqual(['delivered']);
    const listed = side(a).attempts.map((attempt: any) => attempt.attempt);
    expect(side(a)).toMatchObject({
      state: 'retrying',
      attemptCount: 1000,
      attemptsLeftOut: 1000 - listed.length,
    });
    // A's newest, oldest first: the ones that tell where it stands.
    expect(listed).toEqual(Array.from({ length: listed.length }, (_, i) => 1001 - listed.length + i));
  });

  it('GET /v1/events/:id answers 1,000 attempts with 64 KiB bodies of control characters in under 2 MB', async () => {
    const { tenant, a, id } = await eventWithTwoEndpoints('Feed big bodies');
    await logFailedAttempts(tenant.id, a, id, 1000, '\u0001'.repeat(65_536));
    const response = await tenant.client.request('GET', `/v1/events/${id}`);
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('content-length'))).toBeLessThan(2_000_000);
    const [side] = response.body.deliveries;
    expect(side).toMatchObject({ endpointId: a, attemptCount: 1000 });
    expect(side.attempts.length).toBeGreaterThan(0);
    for (const attempt of side.attempts) {
      expect([attempt.responseBody.length, attempt.responseBodyTruncated]).toEqual([1024, true]);
    }
  });

  it('hands out cursors that show no platform counter, and still reads the plain ones issued before', async () => {
    const first = await tenantA.client.ok('GET', '/v1/events?limit=1');
    const raw = Buffer.from(first.nextCursor, 'base64url');
    // Sealed: a format byte, then ciphertext (random bytes, which may hold any character, "[" too),
    // never the plain ["e1", txid, seq] text.
    expect(raw[0]).toBe(0x02);
    expect(raw.toString('latin1')).not.toContain('"e1"');
    // A plain cursor kept from before the upgrade (here: before every row) still reads, and the
    // answer carries a sealed one: the same text the feed hands out for that position.
    const plain = Buffer.from(JSON.stringify(['e1', '0', '0'])).toString('base64url');
    expect(await tenantA.client.ok('GET', `/v1/events?limit=1&cursor=${plain}`)).toEqual(first);
    expect(first.data[0].id).toBe(published[0]);
  });

  it('deletes rows past the retention, in batches, keeps new ones, and tells a cursor behind them of the gap', async () => {
    const behind = (await tenantA.client.ok('GET', '/v1/events?limit=1')).nextCursor;
    const client = await stack.boot('events-feed-retention', { HOOKSTREAM_EVENTS_RETENTION: '3s' });
    const tenantClient = client.as(tenantA.apiKey);
    await waitFor(async () => (await tenantClient.ok('GET', '/v1/events?limit=100')).data.length === 0, {
      what: "tenant A's events deleted by retention",
      timeoutMs: 30_000,
    });
    expect((await tenantClient.request('GET', `/v1/events/${published[0]}`)).status).toBe(404);
    expect(await tenantClient.ok('GET', `/v1/events?cursor=${behind}`)).toMatchObject({ gap: true });
    const [fresh] = await publishToKafka(tenantA.id, ['record.updated']);
    await waitFor(async () => (await tenantClient.request('GET', `/v1/events/${fresh}`)).status === 200, {
      what: 'a new event in the feed after retention ran',
    });
  });
});
