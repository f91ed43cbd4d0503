import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { parseTypeFilter, type FeedCursor } from '../../src/domain/event-feed';
import { EventsRepository, type EventRecord } from '../../src/event-log/events.repository';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/wait';

/** The `events` table on the real PostgreSQL: the feed's order and horizon, conflicts, retention. */
describe('EventsRepository', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let events: EventsRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    events = new EventsRepository(dataSource);
  });
  afterAll(() => database?.drop());

  const row = (tenantId: string, eventId: string, receivedAt = new Date()): EventRecord => ({
    tenantId,
    eventId,
    type: 'record.updated',
    source: '/s',
    subject: null,
    time: '2026-12-02T12:00:00.000Z',
    receivedAt,
    data: Buffer.from(JSON.stringify({ eventId })),
  });
  const feed = async (tenantId: string) =>
    (
      await events.page({
        tenantId,
        after: null,
        types: parseTypeFilter([]),
        from: null,
        to: null,
        limit: 100,
      })
    ).map((event) => event.eventId);

  it('lists a row only once no transaction still running can add one before it', async () => {
    const tenant = randomUUID();
    const slow = dataSource.createQueryRunner();
    await slow.connect();
    try {
      await slow.startTransaction();
      // This transaction takes its id first, as a replica's insert that is slow to commit would.
      await slow.query(
        `INSERT INTO events (tenant_id, event_id, type, source, time, received_at) VALUES ($1, 'slow', 't', '/s', 't', now())`,
        [tenant],
      );
      await events.insert([row(tenant, 'fast')]);
      const [{ count }] = await dataSource.query<Array<{ count: number }>>(
        `SELECT count(*)::int AS count FROM events WHERE tenant_id = $1`,
        [tenant],
      );
      expect(count).toBe(1); // 'fast' is committed and visible to a plain read...
      expect(await feed(tenant)).toEqual([]); // ...but a cursor past it could miss 'slow'
      await slow.commitTransaction();
    } finally {
      await slow.release();
    }
    // Other sessions on this shared cluster may hold the horizon back for a moment.
    const listed = await waitFor(async () => ((await feed(tenant)).length === 2 ? feed(tenant) : null), {
      what: 'both rows listed once the slow transaction committed',
    });
    expect(listed).toEqual(['slow', 'fast']);
  });

  it('keeps the first row of an event id, per tenant', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await events.insert([row(a, 'same'), row(b, 'same')]);
    await events.insert([{ ...row(a, 'same'), type: 'changed' }, row(a, 'other')]);
    expect((await events.findOne(a, 'same'))?.type).toBe('record.updated');
    expect((await events.findOne(b, 'same'))?.eventId).toBe('same');
    expect(await events.findOne(a, 'missing')).toBeNull();
  });

  it('deletes the rows received before the cutoff, a batch at a time, and no newer one', async () => {
    const tenant = randomUUID();
    await dataSource.query('DELETE FROM events');
    const old = new Date(Date.now() - 3_600_000);
    await events.insert(Array.from({ length: 12 }, (_, i) => row(tenant, `old-${i}`, old)));
    await events.insert(Array.from({ length: 3 }, (_, i) => row(tenant, `new-${i}`)));
    expect(await events.deleteOlderThan(new Date(Date.now() - 60_000), 5)).toBe(12);
    const [{ left }] = await dataSource.query<Array<{ left: string[] }>>(
      `SELECT array_agg(event_id ORDER BY seq) AS left FROM events WHERE tenant_id = $1`,
      [tenant],
    );
    expect(left).toEqual(['new-0', 'new-1', 'new-2']);
  });

  const page = (tenantId: string, after: FeedCursor | null) =>
    events.page({ tenantId, after, types: parseTypeFilter([]), from: null, to: null, limit: 100 });
  const count = async (sql: string, params: unknown[]) =>
    (await dataSource.query<Array<{ n: number }>>(sql, params))[0].n;

  it('deletes by received_at: a row received with a clock years ahead no longer stalls retention', async () => {
    const tenant = randomUUID();
    await dataSource.query(
      `INSERT INTO events (tenant_id, event_id, type, source, time, received_at)
       VALUES ($1, 'from-2036', 't', '/s', 't', now() + interval '10 years')`,
      [tenant],
    );
    await dataSource.query(
      `INSERT INTO events (tenant_id, event_id, type, source, time, received_at)
       SELECT $1, 'old-' || i, 't', '/s', 't', now() - interval '2 days' FROM generate_series(1, 6000) AS i`,
      [tenant],
    );
    expect(await events.deleteOlderThan(new Date(Date.now() - 86_400_000), 5000)).toBe(6000);
    expect(await count(`SELECT count(*)::int AS n FROM events WHERE tenant_id = $1`, [tenant])).toBe(1);
    expect(await events.oldestReceivedAt()).not.toBeNull();
  });

  it("stores received_at no later than the database's clock", async () => {
    const tenant = randomUUID();
    await events.insert([row(tenant, 'ahead', new Date(Date.now() + 10 * 365 * 86_400_000))]);
    expect(
      await count(`SELECT count(*)::int AS n FROM events WHERE tenant_id = $1 AND received_at <= now()`, [
        tenant,
      ]),
    ).toBe(1);
  });

  it('reports a gap for a cursor behind rows retention deleted, and none once past them or for another tenant', async () => {
    const [tenant, other] = [randomUUID(), randomUUID()];
    const old = new Date(Date.now() - 3_600_000);
    await events.insert([row(tenant, 'seen', old), row(other, 'other-seen', old)]);
    const [seen] = await waitFor(
      async () => ((await page(tenant, null)).length === 1 ? page(tenant, null) : null),
      {
        what: "the tenant's first row listed",
      },
    );
    const [otherSeen] = await waitFor(
      async () => ((await page(other, null)).length === 1 ? page(other, null) : null),
      { what: "the other tenant's row listed" },
    );
    await events.insert([row(tenant, 'lost-1', old), row(tenant, 'lost-2', old)]);
    await events.insert([row(tenant, 'kept')]);
    expect((await events.cursorState(tenant, seen.cursor)).gap).toBe(false);

    await events.deleteOlderThan(new Date(Date.now() - 60_000), 5000);
    const after = await waitFor(
      async () => {
        const rows = await page(tenant, seen.cursor);
        return rows.length === 1 ? rows : null;
      },
      { what: "'kept' listed after the cursor" },
    );
    expect(after.map((event) => event.eventId)).toEqual(['kept']);
    expect(await events.cursorState(tenant, seen.cursor)).toEqual({ cursor: seen.cursor, gap: true });
    expect((await events.cursorState(tenant, after[0].cursor)).gap).toBe(false);
    // The other tenant lost only the row it had read already.
    expect((await events.cursorState(other, otherSeen.cursor)).gap).toBe(false);
  });

  it('after a restore into another cluster, lists the restored rows and reads kept cursors from the old one', async () => {
    const tenant = randomUUID();
    // A row as pg_dump restores it: the txid of the old cluster, far beyond this one's counter.
    const [{ txid: restoredTxid }] = await dataSource.query<Array<{ txid: string }>>(
      `INSERT INTO events (txid, tenant_id, event_id, type, source, time, received_at)
       VALUES (((pg_snapshot_xmax(pg_current_snapshot())::text)::numeric + 1e9)::text::xid8,
               $1, 'restored', 't', '/s', 't', now())
       RETURNING txid::text AS txid`,
      [tenant],
    );
    const [{ seq: restoredSeq }] = await dataSource.query<Array<{ seq: string }>>(
      `SELECT seq::text AS seq FROM events WHERE tenant_id = $1`,
      [tenant],
    );
    // The old cluster's state row came along with the dump.
    await dataSource.query(`UPDATE events_feed_state SET system_identifier = 'another cluster'`);
    expect(await events.rehomeIfRestored(2)).toBeGreaterThanOrEqual(1);
    expect(await events.rehomeIfRestored(2)).toBe(0); // recorded: the next boot moves nothing
    expect(await feed(tenant)).toEqual(['restored']);

    await events.insert([row(tenant, 'after-restore')]);
    const kept = { txid: restoredTxid, seq: restoredSeq };
    const listed = await waitFor(
      async () => {
        const rows = await page(tenant, kept);
        return rows.length > 0 ? rows : null;
      },
      { what: 'the new row after a cursor of the old cluster' },
    );
    expect(listed.map((event) => event.eventId)).toEqual(['after-restore']);
    expect((await events.cursorState(tenant, kept)).cursor).toEqual({ txid: '1', seq: restoredSeq });
  });
});
