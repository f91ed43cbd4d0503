import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/config';
import { DeadLetterRetention } from '../../src/dead-letters/dead-letter-retention';
import { DeadLettersRepository } from '../../src/dead-letters/dead-letters.repository';
import { sampleOf } from '../support/metrics';
import { createTestDatabase, type TestDatabase } from '../support/database';

const DAY_MS = 86_400_000;

/**
 * Dead letters on the real PostgreSQL: deleted after HOOKSTREAM_DEAD_LETTER_RETENTION (the DLQ
 * topic's 28 days), one replica at a time, and a tenant's list read in its index's order.
 */
describe('dead-letter retention', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let deadLetters: DeadLettersRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    deadLetters = new DeadLettersRepository(dataSource);
  });
  afterAll(() => database?.drop());

  const now = Date.UTC(2026, 11, 7, 12);
  let offset = 0;
  /** One dead letter of `tenantId` created `ageMs` before `now`; resolves with its event id. */
  async function deadLetter(tenantId: string, ageMs: number): Promise<string> {
    const eventId = `e-${offset}`;
    await deadLetters.insert({
      tenantId,
      endpointId: randomUUID(),
      deliveryId: randomUUID(),
      eventId,
      eventType: 'record.updated',
      reason: 'max_attempts',
      lastError: 'HTTP 500',
      attempts: 3,
      dlqTopic: 'hs.dlq',
      dlqPartition: 0,
      dlqOffset: String(offset++),
      task: null,
      createdAt: new Date(now - ageMs),
    });
    return eventId;
  }
  const kept = async (tenantId: string) =>
    (
      await dataSource.query<Array<{ event_id: string }>>(
        `SELECT event_id FROM dead_letters WHERE tenant_id = $1 ORDER BY created_at`,
        [tenantId],
      )
    ).map((row) => row.event_id);
  function retention(registry: Registry): DeadLetterRetention {
    const config = loadConfig({
      HOOKSTREAM_ADMIN_TOKEN: 'a'.repeat(16),
      HOOKSTREAM_SECRET_KEY: 'k'.repeat(32),
    });
    return new DeadLetterRetention(
      deadLetters,
      config,
      { now: () => now },
      registry,
      pino({ level: 'silent' }),
    );
  }

  it('deletes dead letters older than 28 days by default, and counts them', async () => {
    const tenantId = randomUUID();
    await deadLetter(tenantId, 40 * DAY_MS);
    await deadLetter(tenantId, 28 * DAY_MS + 60_000);
    const young = await deadLetter(tenantId, 27 * DAY_MS);
    const registry = new Registry();

    await retention(registry).pass();

    expect(await kept(tenantId)).toEqual([young]);
    expect(sampleOf(await registry.metrics(), 'hookstream_dead_letters_pruned_total')).toBe(2);
  });

  it('deletes nothing while another replica holds the turn, and deletes once it is given back', async () => {
    const tenantId = randomUUID();
    await deadLetter(tenantId, 30 * DAY_MS);
    const other = dataSource.createQueryRunner();
    try {
      await other.startTransaction();
      await other.query(`SELECT pg_advisory_xact_lock(hashtextextended('dead_letters:retention', 0))`);
      expect(await deadLetters.deleteOlderThan(new Date(now - 28 * DAY_MS), 10)).toBeNull();
      expect(await retention(new Registry()).pass()).toBe(0);
      expect(await kept(tenantId)).toHaveLength(1);
      await other.commitTransaction();
    } finally {
      await other.release();
    }
    expect(await deadLetters.deleteOlderThan(new Date(now - 28 * DAY_MS), 10)).toBe(1);
    expect(await kept(tenantId)).toEqual([]);
  });

  it('deletes in batches until none is left', async () => {
    const tenantId = randomUUID();
    for (let n = 0; n < 1_203; n++) await deadLetter(tenantId, 29 * DAY_MS + n);
    const young = await deadLetter(tenantId, DAY_MS);

    expect(await retention(new Registry()).pass()).toBe(1_203);
    expect(await kept(tenantId)).toEqual([young]);
  });

  it('reads a tenant’s page across endpoints from its own index, without a sort', async () => {
    const tenantId = randomUUID();
    await deadLetter(tenantId, DAY_MS);
    const runner = dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      // Few rows: the planner would rather read the table; forbid it to see what the index offers.
      await runner.query(`SET LOCAL enable_seqscan = off`);
      await runner.query(`SET LOCAL enable_bitmapscan = off`);
      const lines = (await runner.query(
        `EXPLAIN SELECT id FROM dead_letters WHERE tenant_id = $1
          ORDER BY created_at DESC, id DESC LIMIT 101`,
        [tenantId],
      )) as Array<{ 'QUERY PLAN': string }>;
      const plan = lines.map((row) => row['QUERY PLAN']).join('\n');
      expect(plan).toContain('dead_letters_tenant_created_idx');
      expect(plan).not.toMatch(/\bSort\b/);
      await runner.rollbackTransaction();
    } finally {
      await runner.release();
    }
  });
});
