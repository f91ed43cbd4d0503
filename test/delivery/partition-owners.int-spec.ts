import pino from 'pino';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { ReplicaRegistry } from '../../src/cluster/replica-registry';
import { PartitionOwners } from '../../src/delivery/partition-owners';
import { testConfig } from '../../src/testing/fakes';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/wait';

/**
 * The handover behind endpoint affinity (README decision 36) on the real database: a partition
 * index starts on its new owner only once the previous one released it, is gone, or the grace
 * has passed; never while the previous owner may still be attempting its endpoints.
 */
describe('PartitionOwners', () => {
  let database: TestDatabase;
  let db: DataSource;
  // An attempt timeout of 1 s: the grace is 6 s, so the forced case takes that long and no more.
  const config = testConfig({ HOOKSTREAM_DELIVERY_TIMEOUT: '1s' });

  function replica(id: string) {
    const registry = new Registry();
    // Counts the replica's statements, so a test can wait for its claims instead of for time.
    let statements = 0;
    const counted = {
      query: (...args: Parameters<DataSource['query']>) => {
        statements += 1;
        return db.query(...args);
      },
    } as DataSource;
    const owners = new PartitionOwners(
      config,
      counted,
      { id } as ReplicaRegistry,
      registry,
      pino({ level: 'silent' }),
    );
    const forced = async () =>
      (await registry.getSingleMetric('hookstream_partition_handovers_forced_total')!.get()).values.reduce(
        (sum, value) => sum + value.value,
        0,
      );
    return { owners, forced, statements: () => statements };
  }

  const heartbeat = (id: string, agoMs = 0) =>
    db.query(
      `INSERT INTO replicas (id, host, pid, roles, heartbeat_at)
       VALUES ($1, 'test', 1, '{delivery}', now() - $2 * interval '1 millisecond')
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at`,
      [id, agoMs],
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await database.connect();
  });

  afterAll(() => database.drop());

  beforeEach(() => db.query('DELETE FROM delivery_partitions; DELETE FROM replicas'));

  it('lets the next owner start a partition only once the previous one released it', async () => {
    const a = replica('a');
    const b = replica('b');
    await heartbeat('a');
    await heartbeat('b');
    await a.owners.acquire([0, 1]);
    let started = false;
    const taking = b.owners.acquire([1]).then(() => (started = true));
    // Give b several chances to start too early: five claims refused.
    const claimsBefore = b.statements();
    await waitFor(() => b.statements() - claimsBefore >= 5, { what: 'five claims of partition 1 by b' });
    expect(started).toBe(false);
    await a.owners.release([1]);
    await taking;
    expect(started).toBe(true);
    expect(await b.forced()).toBe(0);
    const rows = await db.query<Array<{ partition: number; owner: string; released: boolean }>>(
      'SELECT partition, owner, released FROM delivery_partitions ORDER BY partition',
    );
    expect(rows).toEqual([
      { partition: 0, owner: 'a', released: false },
      { partition: 1, owner: 'b', released: false },
    ]);
  });

  it('takes a partition at once from an owner whose heartbeat is stale (it crashed)', async () => {
    const a = replica('a');
    const b = replica('b');
    await heartbeat('a');
    await a.owners.acquire([2]);
    await heartbeat('a', 60_000);
    const before = Date.now();
    await b.owners.acquire([2]);
    expect(Date.now() - before).toBeLessThan(3_000);
    expect(await b.forced()).toBe(0);
  });

  it('starts anyway, counted, once the grace has passed without a release (the owner hangs)', async () => {
    const a = replica('a');
    const b = replica('b');
    await heartbeat('a');
    await a.owners.acquire([3]);
    const before = Date.now();
    // a stays live: keep its heartbeat fresh while b waits.
    const beating = setInterval(() => void heartbeat('a'), 1_000);
    try {
      await b.owners.acquire([3]);
    } finally {
      clearInterval(beating);
    }
    expect(Date.now() - before).toBeGreaterThanOrEqual(6_000);
    expect(await b.forced()).toBe(1);
  });

  it('stops waiting for a partition a later rebalance took away', async () => {
    const a = replica('a');
    const b = replica('b');
    await heartbeat('a');
    await a.owners.acquire([4]);
    let wanted = true;
    const giving = b.owners.acquire([4], () => wanted);
    wanted = false;
    await giving;
    expect(await b.forced()).toBe(0);
    const [row] = await db.query<Array<{ owner: string }>>(
      'SELECT owner FROM delivery_partitions WHERE partition = 4',
    );
    expect(row.owner).toBe('a');
  });

  it('runs beforeRelease with the partitions it still holds, not one its next owner took without waiting', async () => {
    const a = replica('a');
    const b = replica('b');
    await heartbeat('a');
    await a.owners.acquire([5, 6]);
    // b takes 6 without a release (a looked gone for a moment) and starts there.
    await heartbeat('a', 60_000);
    await b.owners.acquire([6]);
    await heartbeat('a');

    const before: number[][] = [];
    await a.owners.release([5, 6], async (held) => {
      before.push(held);
    });

    expect(before).toEqual([[5]]);
    const rows = await db.query<Array<{ partition: number; owner: string; released: boolean }>>(
      'SELECT partition, owner, released FROM delivery_partitions WHERE partition IN (5, 6) ORDER BY partition',
    );
    expect(rows).toEqual([
      { partition: 5, owner: 'a', released: true },
      { partition: 6, owner: 'b', released: false },
    ]);
  });
});
