import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { parseTypeFilter } from '../../src/domain/event-feed';
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
});
