import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { DomainError } from '../../src/common/domain-error';
import { parseTypeFilter } from '../../src/domain/event-feed';
import { EventsRepository, feedPageQuery, type FeedQuery } from '../../src/event-log/events.repository';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/wait';

const ROWS = 200_000;
const BATCHES = 200;
const DAY_MS = 86_400_000;

interface PlanNode {
  'Node Type': string;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows the scans of a plan read: those they returned and those their filters threw away. */
function rowsScanned(node: PlanNode): number {
  const own = node['Node Type'].includes('Scan')
    ? (node['Actual Rows'] ?? 0) +
      (node['Rows Removed by Filter'] ?? 0) +
      (node['Rows Removed by Index Recheck'] ?? 0)
    : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsScanned(child), 0);
}

/**
 * The feed's plans on the real PostgreSQL, over a tenant with 200,000 rows received over a week: a
 * page reads about what it lists, whatever `types` and `from` say (review F3).
 */
describe('events feed plans', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let events: EventsRepository;
  const tenantId = randomUUID();
  const start = Date.now() - 7 * DAY_MS;
  /** Row i: received at start + i * 3 s; one in ten is status.changed, the rest record.updated. */
  const receivedAt = (i: number) => new Date(start + i * 3000);

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    events = new EventsRepository(dataSource);
    const perBatch = ROWS / BATCHES;
    // One transaction per 1,000 rows, in received order, as the feed writer writes them.
    for (let batch = 0; batch < BATCHES; batch++) {
      await dataSource.query(
        `INSERT INTO events (tenant_id, event_id, type, source, time, received_at, data)
         SELECT $1, 'e' || i, CASE WHEN i % 10 = 0 THEN 'status.changed' ELSE 'record.updated' END, '/s', 't',
                $2::timestamptz + i * interval '3 seconds', convert_to(repeat('x', 200), 'UTF8')
           FROM generate_series($3::int, $4::int) i`,
        [tenantId, new Date(start).toISOString(), batch * perBatch, (batch + 1) * perBatch - 1],
      );
    }
    await dataSource.query(`ANALYZE events`);
    // Other sessions on this shared cluster may hold the feed's horizon back for a moment.
    await waitFor(
      async () => ((await events.page(query({ from: receivedAt(ROWS - 1) }))).length === 1 ? true : null),
      { what: 'every seeded row listable' },
    );
  }, 120_000);
  afterAll(() => database?.drop());

  const query = (overrides: Partial<FeedQuery>): FeedQuery => ({
    tenantId,
    after: null,
    types: parseTypeFilter([]),
    from: null,
    to: null,
    limit: 101,
    ...overrides,
  });

  async function scanned(feedQuery: FeedQuery): Promise<number> {
    const { sql, values } = feedPageQuery(feedQuery);
    const [{ 'QUERY PLAN': plan }] = await dataSource.query<
      Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>
    >(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, values);
    return rowsScanned(plan[0].Plan);
  }

  it('reads about a page, not the whole feed, with no filter', async () => {
    expect(await scanned(query({}))).toBeLessThan(10_000);
    expect((await events.page(query({ limit: 2 }))).map((event) => event.eventId)).toEqual(['e0', 'e1']);
  });

  it('reads a few rows, not the whole feed, for a type that never came (exact or prefix)', async () => {
    expect(await scanned(query({ types: parseTypeFilter(['no.such.type']) }))).toBeLessThan(10_000);
    expect(await scanned(query({ types: parseTypeFilter(['nothing.*', 'no.such']) }))).toBeLessThan(10_000);
    expect(await events.page(query({ types: parseTypeFilter(['no.such.type']) }))).toEqual([]);
  });

  it('reads about a page for a type that came, and lists it in feed order', async () => {
    const types = parseTypeFilter(['status.changed']);
    expect(await scanned(query({ types }))).toBeLessThan(10_000);
    const page = await events.page(query({ types, limit: 3 }));
    expect(page.map((event) => event.eventId)).toEqual(['e0', 'e10', 'e20']);
    const prefix = await events.page(query({ types: parseTypeFilter(['status.*']), limit: 2 }));
    expect(prefix.map((event) => event.eventId)).toEqual(['e0', 'e10']);
  });

  it('seeks `from` through the received index instead of reading every row received before it', async () => {
    const from = receivedAt(ROWS - 20_000); // the last day or so
    expect(await scanned(query({ from }))).toBeLessThan(10_000);
    const page = await events.page(query({ from, limit: 2 }));
    expect(page.map((event) => event.eventId)).toEqual([`e${ROWS - 20_000}`, `e${ROWS - 20_000 + 1}`]);
  });

  it('bounds `to` the same way once the page is past it', async () => {
    const to = receivedAt(20_000);
    const last = await events.page(query({ to, from: receivedAt(19_998) }));
    expect(last.map((event) => event.eventId)).toEqual(['e19998', 'e19999']);
    const after = last[last.length - 1].cursor;
    expect(await scanned(query({ to, after }))).toBeLessThan(10_000);
    expect(await events.page(query({ to, after }))).toEqual([]);
  });

  describe('newest first (order=newest)', () => {
    const newest = (overrides: Partial<FeedQuery>) => query({ order: 'newest', ...overrides });
    const ids = async (feedQuery: FeedQuery) => (await events.page(feedQuery)).map((event) => event.eventId);

    it('reads about a page from the newest row, and from deep in the feed, walking the feed index backwards', async () => {
      expect(await scanned(newest({}))).toBeLessThan(10_000);
      expect(await ids(newest({ limit: 2 }))).toEqual([`e${ROWS - 1}`, `e${ROWS - 2}`]);
      const [middle] = await events.page(query({ from: receivedAt(ROWS / 2), limit: 1 }));
      expect(await scanned(newest({ after: middle.cursor }))).toBeLessThan(10_000);
      expect(await ids(newest({ after: middle.cursor, limit: 2 }))).toEqual([
        `e${ROWS / 2 - 1}`,
        `e${ROWS / 2 - 2}`,
      ]);
    });

    it('reads a few rows for a type that never came, and about a page for one that came', async () => {
      expect(await scanned(newest({ types: parseTypeFilter(['no.such.type']) }))).toBeLessThan(10_000);
      expect(await scanned(newest({ types: parseTypeFilter(['nothing.*', 'no.such']) }))).toBeLessThan(
        10_000,
      );
      const types = parseTypeFilter(['status.changed']);
      expect(await scanned(newest({ types }))).toBeLessThan(10_000);
      expect(await ids(newest({ types, limit: 3 }))).toEqual([
        `e${ROWS - 10}`,
        `e${ROWS - 20}`,
        `e${ROWS - 30}`,
      ]);
      const prefix = parseTypeFilter(['status.*', 'no.such']);
      expect(await scanned(newest({ types: prefix }))).toBeLessThan(10_000);
      expect(await ids(newest({ types: prefix, limit: 2 }))).toEqual([`e${ROWS - 10}`, `e${ROWS - 20}`]);
    });

    it('seeks `to` instead of reading every row received after it, and stops at `from`', async () => {
      const to = receivedAt(20_000);
      expect(await scanned(newest({ to }))).toBeLessThan(10_000);
      expect(await ids(newest({ to, limit: 2 }))).toEqual(['e19999', 'e19998']);
      const from = receivedAt(19_998);
      const last = await events.page(newest({ to, from }));
      expect(last.map((event) => event.eventId)).toEqual(['e19999', 'e19998']);
      const after = last[last.length - 1].cursor;
      expect(await scanned(newest({ to, from, after }))).toBeLessThan(10_000);
      expect(await events.page(newest({ to, from, after }))).toEqual([]);
    });
  });

  it('pages in txid order by number, not by its digits, across a power of ten', async () => {
    const tenant = randomUUID();
    // Both below the feed's horizon, whatever the cluster's age: a fresh one is far below 100000.
    const [{ xmin }] = await dataSource.query<Array<{ xmin: string }>>(
      'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin',
    );
    const power = 10n ** BigInt(String(BigInt(xmin) - 1n).length - 1);
    expect(power).toBeGreaterThanOrEqual(10n);
    await dataSource.query(
      `INSERT INTO events (txid, tenant_id, event_id, type, source, time, received_at)
       VALUES ($2::xid8, $1, 'before', 't', '/s', 't', now()), ($3::xid8, $1, 'after', 't', '/s', 't', now())`,
      [tenant, String(power - 1n), String(power)],
    );
    const [first] = await events.page(query({ tenantId: tenant, limit: 1 }));
    expect(first.eventId).toBe('before');
    const [second] = await events.page(query({ tenantId: tenant, after: first.cursor, limit: 1 }));
    expect(second.eventId).toBe('after');
    const newest = await events.page(query({ tenantId: tenant, order: 'newest' }));
    expect(newest.map((event) => event.eventId)).toEqual(['after', 'before']);
  });

  it('answers unavailable (503, Retry-After) when a read runs past the statement timeout', async () => {
    const blocker = dataSource.createQueryRunner();
    await blocker.connect();
    try {
      await blocker.startTransaction();
      await blocker.query(`LOCK TABLE events IN ACCESS EXCLUSIVE MODE`);
      const startedAt = Date.now();
      const error = await events.page(query({})).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: 'unavailable', retryAfterSeconds: 5 });
      expect(Date.now() - startedAt).toBeLessThan(15_000);
      await blocker.rollbackTransaction();
    } finally {
      await blocker.release();
    }
  }, 30_000);
});
