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

  /** Sessions of this test database holding an xid (the events feed's horizon waits for each). */
  async function xidHolders(): Promise<number> {
    const [{ holders }] = await dataSource.query<Array<{ holders: number }>>(
      `SELECT count(*)::int AS holders FROM pg_stat_activity
        WHERE datname = current_database() AND backend_xid IS NOT NULL`,
    );
    return holders;
  }
  /**
   * Whether `settling` finishes while a publish is out: within seconds, where a settle waits on a
   * row lock held across the publish until the publish gives up (and the test then fails, not hangs).
   */
  async function finishesWhilePublishing(settling: Promise<unknown>): Promise<boolean> {
    let finished = false;
    void settling.then(
      () => (finished = true),
      () => (finished = true),
    );
    return waitFor(() => finished, { timeoutMs: 10_000, what: 'the other settle to finish' }).then(
      () => true,
      () => false,
    );
  }
  const windowRow = async (key: WindowKey) =>
    (
      await dataSource.query<
        Array<{ sent_at_ms: number | null; pending: Tally | null; claim: string | null }>
      >(
        `SELECT (extract(epoch FROM sent_at) * 1000)::float8 AS sent_at_ms, pending, claim
           FROM notification_windows WHERE endpoint_id = $1 AND type = $2`,
        [key.endpointId, key.type],
      )
    )[0];

  it('holds no xid while it publishes, and marks the window sent after', async () => {
    const key = await endpointKey();
    const nowMs = Date.now();
    let holders = -1;
    const sent = await replicaA.settle(key, deadLetters(2, nowMs), nowMs, INTERVAL_MS, async () => {
      holders = await xidHolders();
    });
    expect(sent?.count).toBe(2);
    expect(holders).toBe(0);
    expect(await windowRow(key)).toEqual({ sent_at_ms: nowMs, pending: null, claim: null });
  });

  it('lets only one of two replicas settling at once publish; the other one waits for the next window', async () => {
    const key = await endpointKey();
    const published: Array<[string, number]> = [];
    const publish = (replica: string) => async (tally: Tally) => {
      published.push([replica, tally.count]);
    };
    // The replica that claims the window publishes only once the other's settle is over, so the
    // two settle at once, whichever claims it.
    const othersFinished: boolean[] = [];
    const settling: Record<'a' | 'b', Promise<Tally | null>> = {} as never;
    const publishOnceBothSettle = (replica: 'a' | 'b', other: 'a' | 'b') => async (tally: Tally) => {
      othersFinished.push(await finishesWhilePublishing(settling[other]));
      await publish(replica)(tally);
    };
    const nowMs = Date.now();
    settling.a = replicaA.settle(
      key,
      deadLetters(3, nowMs),
      nowMs,
      INTERVAL_MS,
      publishOnceBothSettle('a', 'b'),
    );
    settling.b = replicaB.settle(
      key,
      deadLetters(5, nowMs),
      nowMs,
      INTERVAL_MS,
      publishOnceBothSettle('b', 'a'),
    );
    const [a, b] = await Promise.all([settling.a, settling.b]);
    expect(published).toHaveLength(1);
    expect([a, b].filter((sent) => sent !== null)).toHaveLength(1);
    // The other settle added its dead letters behind the claim, without waiting for the publish.
    expect(othersFinished).toEqual([true]);
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

  it('publishes once for eight settles at once from two replicas, and counts every dead letter', async () => {
    const key = await endpointKey();
    const nowMs = Date.now();
    const published: number[] = [];
    const settles: Array<Promise<Tally | null>> = [];
    const others = () => Promise.all(settles.filter((_, n) => n !== claimer));
    let claimer = -1;
    const othersFinished: boolean[] = [];
    for (let n = 0; n < 8; n += 1) {
      const replica = n % 2 === 0 ? replicaA : replicaB;
      settles.push(
        replica.settle(key, deadLetters(1, nowMs + n), nowMs, INTERVAL_MS, async (tally) => {
          claimer = n;
          othersFinished.push(await finishesWhilePublishing(others()));
          published.push(tally.count);
        }),
      );
    }
    await Promise.all(settles);
    expect(published).toHaveLength(1);
    expect(othersFinished).toEqual([true]);
    expect(published[0] + ((await windowRow(key)).pending?.count ?? 0)).toBe(8);
  });

  it('keeps the counts of a failed publish, in front of what came meanwhile, for the next try', async () => {
    const key = await endpointKey();
    const nowMs = Date.now();
    const meanwhile: Array<Tally | null> = [];
    await expect(
      replicaA.settle(key, deadLetters(4, nowMs), nowMs, INTERVAL_MS, async () => {
        // Another replica settles while this publish is out, then Kafka refuses it.
        const settling = replicaB.settle(
          key,
          deadLetters(2, nowMs + 10),
          nowMs + 10,
          INTERVAL_MS,
          async (t) => {
            meanwhile.push(t);
          },
        );
        if (await finishesWhilePublishing(settling)) meanwhile.push(await settling);
        throw new Error('Kafka down');
      }),
    ).rejects.toThrow('Kafka down');
    expect(meanwhile).toEqual([null]);
    // Never sent: due at once, and the next try sends all six, the failed four first.
    expect(await replicaB.due(nowMs + 20, INTERVAL_MS, 100)).toContainEqual(key);
    const sent = await replicaB.settle(key, null, nowMs + 20, INTERVAL_MS, async () => {});
    expect(sent).toMatchObject({ count: 6, firstEventId: `e-${nowMs}-0`, lastEventId: `e-${nowMs + 10}-1` });
    expect(await windowRow(key)).toEqual({ sent_at_ms: nowMs + 20, pending: null, claim: null });
  });

  it('takes over a claim whose lease ran out and sends the same notification; the first publisher then changes nothing', async () => {
    const key = await endpointKey();
    const nowMs = Date.now();
    const sent: Array<[string, number, number]> = [];
    // Replica A claims the window; its publish hangs (its process is gone, or Kafka never answers).
    let fail!: () => void;
    const stalled = replicaA.settle(key, deadLetters(3, nowMs), nowMs, INTERVAL_MS, (tally, atMs) => {
      sent.push(['a', tally.count, atMs]);
      return new Promise((_, reject) => (fail = () => reject(new Error('publisher gone'))));
    });
    await waitFor(() => sent.length === 1, { what: 'replica A to publish' });
    try {
      // While A's claim is live, B only adds its dead letters behind it, whenever it settles.
      const settling = replicaB.settle(
        key,
        deadLetters(2, nowMs + 1),
        nowMs + 1,
        INTERVAL_MS,
        async (t, atMs) => {
          sent.push(['b', t.count, atMs]);
        },
      );
      expect(await finishesWhilePublishing(settling)).toBe(true);
      expect(await settling).toBeNull();
      expect(await replicaB.due(nowMs + 10 * INTERVAL_MS, INTERVAL_MS, 100)).not.toContainEqual(key);

      await dataSource.query(
        `UPDATE notification_windows SET claimed_until = now() - interval '1 second' WHERE endpoint_id = $1`,
        [key.endpointId],
      );
      // Its lease ran out: due whatever the interval, and B sends A's notification, same moment.
      expect(await replicaB.due(nowMs + 2, INTERVAL_MS, 100)).toContainEqual(key);
      const taken = await replicaB.settle(key, null, nowMs + 2, INTERVAL_MS, async (tally, atMs) => {
        sent.push(['b', tally.count, atMs]);
      });
      expect(taken?.count).toBe(3);
      expect(sent).toEqual([
        ['a', 3, nowMs],
        ['b', 3, nowMs],
      ]);
    } finally {
      fail();
      // Settled here too, so a failure above does not leave its rejection to the next test.
      await stalled.catch(() => undefined);
    }
    // A's publish fails late: its claim is gone, so it puts nothing back (B sent those three).
    await expect(stalled).rejects.toThrow('publisher gone');
    expect(await windowRow(key)).toMatchObject({ sent_at_ms: nowMs, pending: { count: 2 }, claim: null });
    const next = await replicaA.settle(key, null, nowMs + INTERVAL_MS, INTERVAL_MS, async () => {});
    expect(next?.count).toBe(2);
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
