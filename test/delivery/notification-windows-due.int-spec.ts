import type { DataSource } from 'typeorm';
import {
  NotificationWindows,
  type WindowKey,
} from '../../src/delivery/notifications/notification-windows.repository';
import { NOTIFICATION_TYPE } from '../../src/domain/notifications';
import { createTestDatabase, type TestDatabase } from '../support/database';

const WINDOWS = 50_000;
/** Windows never sent: fewer than the limit, so the oldest sent ones fill the rest. */
const NEVER_SENT = 30;
const INTERVAL_MS = 10_000_000;
const LIMIT = 100;

/** One node of `EXPLAIN (ANALYZE, FORMAT JSON)`. */
interface PlanNode {
  'Node Type': string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

/** Rows a node produced or read and threw away, over all its loops. */
function rowsTouched(node: PlanNode): number {
  const removed = (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0);
  return (node['Actual Rows'] + removed) * node['Actual Loops'];
}

/**
 * `due()` on a backlog of pending windows, as a long outage leaves them: it reads about as many
 * rows as it returns, where ordering never-sent windows first once sorted every due window on each
 * flush (review 6, F6), and it still returns never-sent windows first, then the oldest sent, with
 * no window under a live claim and every one whose claim ran out.
 */
describe('NotificationWindows.due on a backlog', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  /** Never sent (n < NEVER_SENT) or sent n seconds before `nowMs`, the oldest last. */
  const keyOf = (n: number): WindowKey => ({
    endpointId: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
    tenantId: '00000000-0000-4000-8000-000000000000',
    type: NOTIFICATION_TYPE.deadLetter,
  });
  const nowMs = Date.now();
  const oldest = WINDOWS - 1;
  const liveClaims = [0, oldest];
  const expiredClaims = [1, oldest - 1];

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    const { tenantId } = keyOf(0);
    await dataSource.query(`INSERT INTO tenants (id, name) VALUES ($1, 'backlog')`, [tenantId]);
    // One endpoint per window, its id made from n as in keyOf.
    await dataSource.query(
      `INSERT INTO endpoints (id, tenant_id, url)
       SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, $1, 'https://example.com/'
         FROM generate_series(0, $2::int - 1) n`,
      [tenantId, WINDOWS],
    );
    await dataSource.query(
      `INSERT INTO notification_windows (endpoint_id, type, tenant_id, sent_at, pending)
       SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
              $1, $2,
              CASE WHEN n < $3 THEN NULL ELSE to_timestamp($4::bigint / 1000.0) - n * interval '1 second' END,
              '{"count": 1}'::jsonb
         FROM generate_series(0, $5::int - 1) n`,
      [NOTIFICATION_TYPE.deadLetter, tenantId, NEVER_SENT, nowMs, WINDOWS],
    );
    const claim = (n: number, until: string) =>
      dataSource.query(
        `UPDATE notification_windows
            SET claim = gen_random_uuid(), sending = '{"count": 1}', sending_at_ms = $3,
                claimed_until = now() + $4::interval
          WHERE endpoint_id = $1 AND type = $2`,
        [keyOf(n).endpointId, keyOf(n).type, nowMs, until],
      );
    for (const n of liveClaims) await claim(n, '1 hour');
    for (const n of expiredClaims) await claim(n, '-1 minute');
    await dataSource.query(`ANALYZE notification_windows`);
  });
  afterAll(() => database?.drop());

  it('returns never-sent windows first, then the oldest sent, leaving out live claims', async () => {
    const due = await new NotificationWindows(dataSource).due(nowMs, INTERVAL_MS, LIMIT);

    const neverSent = Array.from({ length: NEVER_SENT }, (_, n) => n).filter((n) => !liveClaims.includes(n));
    // The rest from the oldest down, one more since the oldest is under a live claim.
    const oldestSent = Array.from({ length: LIMIT - neverSent.length + 1 }, (_, k) => oldest - k).filter(
      (n) => !liveClaims.includes(n),
    );
    expect(due).toHaveLength(LIMIT);
    // Never-sent windows come in no particular order among themselves.
    expect(due.slice(0, neverSent.length)).toEqual(expect.arrayContaining(neverSent.map(keyOf)));
    expect(due.slice(neverSent.length)).toEqual(oldestSent.map(keyOf));
    expect(due).toContainEqual(keyOf(expiredClaims[0]));
    expect(due).toContainEqual(keyOf(expiredClaims[1]));
  });

  it('reads about as many rows as it returns, not the whole backlog', async () => {
    // The statement due() runs, explained with its own parameters.
    const query = jest.spyOn(dataSource, 'query');
    let statements: Parameters<DataSource['query']>[] = [];
    try {
      await new NotificationWindows(dataSource).due(nowMs, INTERVAL_MS, LIMIT);
    } finally {
      statements = [...query.mock.calls];
      query.mockRestore();
    }
    expect(statements).toHaveLength(1);
    const [[sql, parameters]] = statements;

    const [{ 'QUERY PLAN': plans }] = await dataSource.query<
      Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>
    >(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, parameters);
    // Each of the query's three branches reads at most LIMIT rows and a live claim or two.
    const overLimit = nodesOf(plans[0].Plan)
      .filter((node) => rowsTouched(node) > 3 * LIMIT + liveClaims.length)
      .map((node) => `${node['Node Type']}: ${rowsTouched(node)} rows`);
    expect(overLimit).toEqual([]);
  });
});
