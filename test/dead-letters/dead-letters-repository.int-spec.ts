import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  DeadLettersRepository,
  REPLAY_CHUNK_BYTES,
  type StoredDeadLetter,
} from '../../src/dead-letters/dead-letters.repository';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * Dead-letter replays on the real PostgreSQL. A replay sends to Kafka, which may retry for 30 s; no
 * transaction holding an xid may stay open across it, or the events feed's horizon (README decision
 * 40) waits for it on every tenant. Nothing may be lost on the way: a failed send, or a job that
 * died after its claim, leaves the dead letters to replay again.
 */
describe('DeadLettersRepository replays', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let deadLetters: DeadLettersRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    deadLetters = new DeadLettersRepository(dataSource);
  });
  afterAll(() => database?.drop());

  let offset = 0;
  /** `count` dead letters of a new endpoint, oldest first; resolves with the endpoint. */
  async function deadLettered(tenantId: string, count: number, dataBytes = 0): Promise<string> {
    const endpointId = randomUUID();
    for (let n = 0; n < count; n++) {
      const deliveryId = randomUUID();
      await deadLetters.insert({
        tenantId,
        endpointId,
        deliveryId,
        eventId: `e-${n}`,
        eventType: 'record.updated',
        reason: 'max_attempts',
        lastError: 'HTTP 500',
        attempts: 3,
        dlqTopic: 'hs.dlq',
        dlqPartition: 0,
        dlqOffset: String(offset++),
        task: {
          deliveryId,
          eventId: `e-${n}`,
          endpointId,
          tenantId,
          eventType: 'record.updated',
          eventTime: '2026-12-02T12:00:00.000Z',
          data: dataBytes === 0 ? { n } : { n, padding: randomBytes(dataBytes / 2).toString('hex') },
          publishedAtMs: Date.UTC(2026, 11, 2, 12, 0, n),
        },
        createdAt: new Date(Date.UTC(2026, 11, 2, 12, 0, n)),
      });
    }
    return endpointId;
  }
  /** A dead-letter replay job `id` running under a live lease. */
  async function runningJob(id: string, tenantId: string, endpointId: string): Promise<void> {
    await dataSource.query(
      `INSERT INTO replay_jobs (id, tenant_id, endpoint_id, kind, state, resume_point, lease_holder, lease_expires_at)
       VALUES ($1, $2, $3, 'dead_letters', 'running', '{}'::jsonb, 'replica-a', now() + interval '1 minute')`,
      [id, tenantId, endpointId],
    );
  }
  const upTo = new Date(Date.UTC(2027, 0, 1));
  const events = (batch: StoredDeadLetter[]) => batch.map((deadLetter) => deadLetter.eventId ?? '');
  /** Sessions of this test's database holding an xid (the feed's horizon waits for each). */
  const xidHolders = async () =>
    Number(
      (
        await dataSource.query<Array<{ holders: string }>>(
          `SELECT count(*) AS holders FROM pg_stat_activity
            WHERE datname = current_database() AND backend_xid IS NOT NULL`,
        )
      )[0].holders,
    );
  const unreplayed = async (endpointId: string) =>
    (
      await dataSource.query<Array<{ event_id: string }>>(
        `SELECT event_id FROM dead_letters WHERE endpoint_id = $1 AND replayed_at IS NULL ORDER BY created_at`,
        [endpointId],
      )
    ).map((row) => row.event_id);

  it('holds no xid while a job sends its chunk, and marks the chunk replayed after', async () => {
    const tenantId = randomUUID();
    const endpointId = await deadLettered(tenantId, 3);
    const sent: string[][] = [];
    let holders = -1;
    const count = await deadLetters.replayBatch(
      randomUUID(),
      tenantId,
      endpointId,
      upTo,
      2,
      async (batch) => {
        holders = await xidHolders();
        sent.push(events(batch));
      },
    );
    expect(count).toBe(2);
    expect(holders).toBe(0);
    expect(sent).toEqual([['e-0', 'e-1']]);
    expect(await unreplayed(endpointId)).toEqual(['e-2']);
  });

  it('stops a chunk once its tasks pass REPLAY_CHUNK_BYTES, however many rows the chunk may hold', async () => {
    const tenantId = randomUUID();
    // Four tasks of 6 MiB each: a chunk of 1,000 rows would hold all 24 MiB at once.
    const endpointId = await deadLettered(tenantId, 4, 6 * 1024 * 1024);
    const job = randomUUID();
    const chunks: Array<{ events: string[]; bytes: number }> = [];
    const replay = () =>
      deadLetters.replayBatch(job, tenantId, endpointId, upTo, 1000, async (batch) => {
        chunks.push({
          events: events(batch),
          bytes: batch.reduce((sum, deadLetter) => sum + JSON.stringify(deadLetter.task).length, 0),
        });
      });
    expect(await replay()).toBe(3);
    expect(await replay()).toBe(1);
    expect(await replay()).toBe(0);
    expect(chunks.map((chunk) => chunk.events)).toEqual([['e-0', 'e-1', 'e-2'], ['e-3']]);
    // Rows are added while the chunk is under the budget: at most one task's bytes past it.
    expect(chunks[0].bytes).toBeLessThan(REPLAY_CHUNK_BYTES + 7 * 1024 * 1024);
    expect(await unreplayed(endpointId)).toEqual([]);
  });

  it('takes one row into a chunk even when that task alone is past the budget', async () => {
    const tenantId = randomUUID();
    const endpointId = await deadLettered(tenantId, 2, 64 * 1024);
    const sent: string[][] = [];
    const replay = () =>
      deadLetters.replayBatch(
        randomUUID(),
        tenantId,
        endpointId,
        upTo,
        10,
        async (batch) => {
          sent.push(events(batch));
        },
        1024,
      );
    expect(await replay()).toBe(1);
    expect(await replay()).toBe(1);
    expect(sent).toEqual([['e-0'], ['e-1']]);
  });

  it('holds no xid while one dead letter is replayed, and marks it replayed after', async () => {
    const tenantId = randomUUID();
    const endpointId = await deadLettered(tenantId, 1);
    const [{ id }] = await dataSource.query<Array<{ id: string }>>(
      `SELECT id FROM dead_letters WHERE endpoint_id = $1`,
      [endpointId],
    );
    let holders = -1;
    const replayed = await deadLetters.replayOne(tenantId, id, async () => {
      holders = await xidHolders();
    });
    expect(replayed?.eventId).toBe('e-0');
    expect(holders).toBe(0);
    expect(await unreplayed(endpointId)).toEqual([]);
  });

  it('leaves a chunk whose send failed to replay again at once', async () => {
    const tenantId = randomUUID();
    const endpointId = await deadLettered(tenantId, 2);
    await expect(
      deadLetters.replayBatch(randomUUID(), tenantId, endpointId, upTo, 10, () =>
        Promise.reject(new Error('Kafka is down')),
      ),
    ).rejects.toThrow('Kafka is down');
    expect(await unreplayed(endpointId)).toEqual(['e-0', 'e-1']);
    const sent: string[][] = [];
    await deadLetters.replayBatch(randomUUID(), tenantId, endpointId, upTo, 10, async (batch) => {
      sent.push(events(batch));
    });
    expect(sent).toEqual([['e-0', 'e-1']]);
    expect(await unreplayed(endpointId)).toEqual([]);
  });

  it('skips another job’s live claim, gives a resumed job its own at once, and any job an expired one', async () => {
    const tenantId = randomUUID();
    const endpointId = await deadLettered(tenantId, 2);
    const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];
    const sent: Array<[string, string[]]> = [];
    const replay = (job: string) =>
      deadLetters.replayBatch(job, tenantId, endpointId, upTo, 10, async (batch) => {
        sent.push([job, events(batch)]);
      });
    // The first job claimed e-0 and died before it sent; its lease has not run out yet.
    await runningJob(first, tenantId, endpointId);
    await dataSource.query(
      `UPDATE dead_letters SET replay_claim = $2, replay_claimed_until = now() + interval '1 minute'
        WHERE endpoint_id = $1 AND event_id = 'e-0'`,
      [endpointId, first],
    );
    expect(await replay(second)).toBe(1);
    // Resumed, the first job takes its own claim at once.
    expect(await replay(first)).toBe(1);
    expect(sent).toEqual([
      [second, ['e-1']],
      [first, ['e-0']],
    ]);

    await dataSource.query(`UPDATE dead_letters SET replayed_at = NULL WHERE endpoint_id = $1`, [endpointId]);
    await dataSource.query(
      `UPDATE dead_letters SET replay_claim = $2, replay_claimed_until = now() - interval '1 second'
        WHERE endpoint_id = $1`,
      [endpointId, first],
    );
    sent.length = 0;
    // Its claim ran out: another job takes the rows.
    expect(await replay(third)).toBe(2);
    expect(sent).toEqual([[third, ['e-0', 'e-1']]]);
    expect(await unreplayed(endpointId)).toEqual([]);
  });

  it('takes at once the live claims of a job that no longer runs, so none is left behind', async () => {
    const tenantId = randomUUID();
    const endpointId = await deadLettered(tenantId, 3);
    const [cancelled, gone, next] = [randomUUID(), randomUUID(), randomUUID()];
    await runningJob(cancelled, tenantId, endpointId);
    await dataSource.query(`UPDATE replay_jobs SET state = 'cancelled' WHERE id = $1`, [cancelled]);
    const claim = (job: string, eventId: string) =>
      dataSource.query(
        `UPDATE dead_letters SET replay_claim = $2, replay_claimed_until = now() + interval '1 minute'
          WHERE endpoint_id = $1 AND event_id = $3`,
        [endpointId, job, eventId],
      );
    await claim(cancelled, 'e-0');
    await claim(gone, 'e-1');
    const sent: string[][] = [];

    const count = await deadLetters.replayBatch(next, tenantId, endpointId, upTo, 10, async (batch) => {
      sent.push(events(batch));
    });

    expect(count).toBe(3);
    expect(sent).toEqual([['e-0', 'e-1', 'e-2']]);
    expect(await unreplayed(endpointId)).toEqual([]);
  });
});
