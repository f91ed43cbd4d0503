import type { ApiClient } from '../support/api';
import { startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

const EVENTS = 2_000;
const PAGE = 100;

interface FeedEvent {
  id: string;
  type: string;
  receivedAt: string;
}

interface FeedPage {
  data: FeedEvent[];
  nextCursor: string | null;
  hasMore: boolean;
  gap: boolean;
}

/** `GET /v1/events?order=newest`: the feed's events newest first, for the portal's latest events. */
describe('events feed newest first: GET /v1/events?order=newest', () => {
  let stack: Stack;
  let tenant: { id: string; apiKey: string; client: ApiClient };
  /** Event ids in publish order, which is the feed's (one partition: the tenant is the key). */
  let published: string[];
  /** The feed read oldest first once all had arrived. */
  let feed: FeedEvent[];

  beforeAll(async () => {
    stack = await startStack('events-newest');
  });
  afterAll(() => stopStack(stack));

  /** Every page from the start in `order`, checking each page's own promises. */
  async function readAll(order: 'oldest' | 'newest', query: string, limit: number) {
    const pages: FeedPage[] = [];
    let cursor: string | null = null;
    for (;;) {
      const after: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = await tenant.client.ok<FeedPage>(
        'GET',
        `/v1/events?order=${order}&limit=${limit}${query}${after}`,
      );
      expect(page.data.length).toBeLessThanOrEqual(limit);
      pages.push(page);
      cursor = page.nextCursor;
      if (!page.hasMore) return { events: pages.flatMap((each) => each.data), pages };
    }
  }

  it('lists 2,000 events newest first, and pages back to the oldest with none missed or repeated', async () => {
    tenant = await stack.api.createTenant('Newest first');
    // One in ten status.changed, the rest record.updated, for the filters below.
    const events = Array.from({ length: EVENTS }, (_, i) =>
      structuredEvent(tenant.id, i % 10 === 0 ? 'status.changed' : 'record.updated', { i }),
    );
    await stack.producer.send({
      topic: stack.inputTopic,
      acks: -1,
      messages: events.map((event) => event.message),
    });
    published = events.map((event) => event.id);
    feed = await waitFor(
      async () => {
        const read = await readAll('oldest', '', PAGE);
        return read.events.length === EVENTS ? read.events : null;
      },
      { what: `${EVENTS} events in the feed`, timeoutMs: 60_000 },
    );
    expect(feed.map((event) => event.id)).toEqual(published);

    const first = await tenant.client.ok<FeedPage>('GET', `/v1/events?order=newest&limit=${PAGE}`);
    expect(first.data.map((event) => event.id)).toEqual(published.slice(-PAGE).reverse());
    const times = first.data.map((event) => event.receivedAt);
    expect(times).toEqual([...times].sort().reverse());
    expect(first).toMatchObject({ hasMore: true, gap: false });

    const newest = await readAll('newest', '', PAGE);
    expect(newest.pages).toHaveLength(EVENTS / PAGE);
    expect(newest.events.map((event) => event.id)).toEqual([...published].reverse());
    expect(new Set(newest.events.map((event) => event.id)).size).toBe(EVENTS);
    expect(newest.pages[newest.pages.length - 1]).toMatchObject({ nextCursor: null, hasMore: false });
  });

  it('filters by types and received time as the feed does, newest first', async () => {
    const idsOf = async (query: string, limit: number) =>
      (await readAll('newest', query, limit)).events.map((event) => event.id);
    const reversed = (events: FeedEvent[]) => events.map((event) => event.id).reverse();
    expect(await idsOf('&types=status.*', 30)).toEqual(
      reversed(feed.filter((event) => event.type === 'status.changed')),
    );
    expect(await idsOf('&types=no.such.type', 30)).toEqual([]);
    const from = feed[500].receivedAt;
    // Just after the 1,501st: it and the 501st are in range whatever the clock's resolution.
    const to = new Date(Date.parse(feed[1_500].receivedAt) + 1).toISOString();
    const inRange = reversed(feed.filter((event) => event.receivedAt >= from && event.receivedAt < to));
    expect(inRange).toEqual(expect.arrayContaining([feed[500].id, feed[1_500].id]));
    expect(await idsOf(`&from=${from}&to=${to}`, PAGE)).toEqual(inRange);
  });

  it("refuses another tenant's cursor, and a cursor of the other order, with 400", async () => {
    const older = (await tenant.client.ok<FeedPage>('GET', '/v1/events?order=newest&limit=1')).nextCursor;
    const since = (await tenant.client.ok<FeedPage>('GET', '/v1/events?limit=1')).nextCursor;
    expect(older).not.toBeNull();
    // Within its own tenant and order, the cursor reads the next older event.
    const second = await tenant.client.ok<FeedPage>('GET', `/v1/events?order=newest&limit=1&cursor=${older}`);
    expect(second.data.map((event) => event.id)).toEqual([published[EVENTS - 2]]);

    const other = await stack.api.createTenant('Newest first, other');
    const refused = await other.client.request('GET', `/v1/events?order=newest&cursor=${older}`);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('cursor');
    for (const query of [`order=oldest&cursor=${older}`, `cursor=${older}`, `order=newest&cursor=${since}`]) {
      const response = await tenant.client.request('GET', `/v1/events?${query}`);
      expect([query, response.status]).toEqual([query, 400]);
    }
    const badOrder = await tenant.client.request('GET', '/v1/events?order=latest');
    expect(badOrder.status).toBe(400);
    expect(JSON.stringify(badOrder.body)).toContain('order');
  });

  it('documents order in the OpenAPI document', async () => {
    const document = (await (await fetch(`${stack.service.url}/docs-json`)).json()) as {
      paths: Record<string, { get: { parameters: Array<{ name: string; schema: unknown }> } }>;
    };
    const order = document.paths['/v1/events'].get.parameters.find((parameter) => parameter.name === 'order');
    expect(order?.schema).toMatchObject({ enum: ['oldest', 'newest'], default: 'oldest' });
  });
});
