import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  NotificationWindows,
  type WindowKey,
} from '../../src/delivery/notifications/notification-windows.repository';
import { NOTIFICATION_TYPE, tallyOf, type Tally } from '../../src/domain/notifications';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/wait';

const INTERVAL_MS = 60_000;

/**
 * `notification_windows` on the real PostgreSQL, from two connection pools as two replicas would
 * use it: one notification per window however many replicas settle it at once, counts carried to
 * the next window, a failed publish keeping its tally.
 */
describe('NotificationWindows', () => {
  let database: TestDatabase;
  let replicaA: NotificationWindows;
  let replicaB: NotificationWindows;
  let dataSource: DataSource;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    replicaA = new NotificationWindows(dataSource);
    replicaB = new NotificationWindows(await database.connect());
  });
  afterAll(() => database?.drop());

  async function endpointKey(): Promise<WindowKey> {
    const tenantId = randomUUID();
    const endpointId = randomUUID();
    await dataSource.query(`INSERT INTO tenants (id, name) VALUES ($1, 'n')`, [tenantId]);
    await dataSource.query(
      `INSERT INTO endpoints (id, tenant_id, url) VALUES ($1, $2, 'https://example.com/')`,
      [endpointId, tenantId],
    );
    return { endpointId, tenantId, type: NOTIFICATION_TYPE.deadLetter };
  }
  const deadLetters = (count: number, atMs: number): Tally => {
    let tally = tallyOf({ atMs, eventId: `e-${atMs}-0`, reason: 'attempts_exhausted' });
    for (let n = 1; n < count; n += 1)
      tally = { ...tally, count: tally.count + 1, lastEventId: `e-${atMs}-${n}` };
    return { ...tally, reasons: { attempts_exhausted: count } };
  };

  /** A session of this test database waits for a lock (the other replica, on the window's row). */
  async function otherWaitsOnALock(): Promise<boolean> {
    const [{ waiting }] = await dataSource.query<Array<{ waiting: number }>>(
      `SELECT count(*)::int AS waiting FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    return waiting > 0;
  }

  it('lets only one of two replicas settling at once publish; the other one waits for the next window', async () => {
    const key = await endpointKey();
    const published: Array<[string, number]> = [];
    const publish = (replica: string) => async (tally: Tally) => {
      published.push([replica, tally.count]);
    };
    // The replica that claims the window publishes only once the other waits on its row lock, so
    // the two settle at once, whichever claims it.
    const publishOnceBothSettle = (replica: string) => async (tally: Tally) => {
      await waitFor(() => otherWaitsOnALock(), { what: 'the other replica to wait on the row lock' });
      await publish(replica)(tally);
    };
    const nowMs = Date.now();
    const [a, b] = await Promise.all([
      replicaA.settle(key, deadLetters(3, nowMs), nowMs, INTERVAL_MS, publishOnceBothSettle('a')),
      replicaB.settle(key, deadLetters(5, nowMs), nowMs, INTERVAL_MS, publishOnceBothSettle('b')),
    ]);
    expect(published).toHaveLength(1);
    expect([a, b].filter((sent) => sent !== null)).toHaveLength(1);
    const secondCount = published[0][1] === 3 ? 5 : 3;

    // Within the interval: nothing goes out, however often it is settled.
    expect(await replicaA.settle(key, null, nowMs + 1_000, INTERVAL_MS, publish('a'))).toBeNull();
    expect(await replicaA.due(nowMs + 1_000, INTERVAL_MS, 100)).not.toContainEqual(key);
    // After it: the window is due, and the other replica's dead letters go out, counted.
    expect(await replicaB.due(nowMs + INTERVAL_MS, INTERVAL_MS, 100)).toContainEqual(key);
    const later = await replicaB.settle(key, null, nowMs + INTERVAL_MS, INTERVAL_MS, publish('b'));
    expect(later?.count).toBe(secondCount);
    expect(published).toHaveLength(2);
    expect(await replicaB.due(nowMs + 10 * INTERVAL_MS, INTERVAL_MS, 100)).not.toContainEqual(key);
  });

  it('writes nothing when the publish fails (the notifier keeps the tally), so the next try may send', async () => {
    const key = await endpointKey();
    const nowMs = Date.now();
    await expect(
      replicaA.settle(key, deadLetters(4, nowMs), nowMs, INTERVAL_MS, () =>
        Promise.reject(new Error('Kafka down')),
      ),
    ).rejects.toThrow('Kafka down');
    const sent = await replicaA.settle(
      key,
      deadLetters(2, nowMs + 10),
      nowMs + 10,
      INTERVAL_MS,
      async () => {},
    );
    // The failed transaction wrote nothing: only the second tally was pending, and it went out.
    expect(sent?.count).toBe(2);
  });

  it('forgets the window of an endpoint that is deleted', async () => {
    const key = await endpointKey();
    const nowMs = Date.now();
    await replicaA.settle(key, deadLetters(1, nowMs), nowMs, INTERVAL_MS, async () => {});
    await dataSource.query(`DELETE FROM endpoints WHERE id = $1`, [key.endpointId]);
    expect(
      await replicaA.settle(key, deadLetters(1, nowMs), nowMs + INTERVAL_MS, INTERVAL_MS, async () => {}),
    ).toBeNull();
    const [{ count }] = await dataSource.query<Array<{ count: number }>>(
      `SELECT count(*)::int AS count FROM notification_windows WHERE endpoint_id = $1`,
      [key.endpointId],
    );
    expect(count).toBe(0);
  });
});
