import { randomBytes, randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { Pool, type PoolClient } from 'pg';
import {
  buildCloudEvent,
  createOutboxTable,
  outboxDdl,
  Outbox,
  outboxPayloadTextDdl,
  OutboxRelay,
  parseCloudEvent,
  PublishError,
} from '@hookstream/publisher';
import { BASE_DATABASE_URL } from '../support/database';
import { connectedAdmin, testKafka } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * The outbox keeps the exact JSON the library wrote (README decision 98): an event whose data holds
 * U+0000 or a lone surrogate is enqueued in the caller's transaction and relayed, and the relayed
 * bytes are the library's serialisation, byte for byte. A `payload jsonb` table of an earlier
 * version still works for other events, and the one-statement migration converts it.
 */
interface ProbeEvents {
  'record.updated': Record<string, unknown>;
}

const SOURCE = '/outbox-text-it';

interface RawMessage {
  key: string | null;
  value: Buffer;
}

describe('the outbox payload as the exact JSON the library wrote', () => {
  const schema = `outbox_text_${randomBytes(4).toString('hex')}`;
  const topic = `t-outbox-text-${randomBytes(4).toString('hex')}`;
  const tenantId = randomUUID();
  let kafka: Kafka;
  let admin: Admin;
  let pool: Pool;
  let received: RawMessage[];
  let stopCollecting: () => Promise<void>;

  beforeAll(async () => {
    kafka = testKafka('outbox-text-it');
    admin = await connectedAdmin(kafka);
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    pool = new Pool({ connectionString: BASE_DATABASE_URL, max: 4 });
    await pool.query(`CREATE SCHEMA ${schema}`);
    await pool.query(`CREATE TABLE ${schema}.records (id text PRIMARY KEY)`);
    received = [];
    // The raw bytes of each record: a string would hide a difference in encoding.
    const consumer = kafka.consumer({ groupId: `outbox-text-${randomBytes(4).toString('hex')}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({ key: message.key?.toString() ?? null, value: Buffer.from(message.value ?? []) });
      },
    });
    stopCollecting = () => consumer.disconnect();
  });

  afterAll(async () => {
    await stopCollecting?.();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  /** The event's input with a fixed id and time, so the test can build its bytes itself. */
  function input(data: Record<string, unknown>) {
    return {
      type: 'record.updated',
      tenantId,
      id: randomUUID(),
      time: '2026-12-07T08:00:00.000Z',
      data,
    } as const;
  }

  /** In one transaction: the caller's own change, then the event, then another change; commit. */
  async function enqueueWithChange(outbox: Outbox<ProbeEvents>, event: ReturnType<typeof input>) {
    const client: PoolClient = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${schema}.records (id) VALUES ($1)`, [`${event.id}-before`]);
      await outbox.enqueue(client, event);
      await client.query(`INSERT INTO ${schema}.records (id) VALUES ($1)`, [`${event.id}-after`]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  async function relayUntilReceived(table: string, eventId: string, log?: (m: string) => void) {
    const relay = new OutboxRelay({ pool, kafka, table, topic, pollMs: 10, log });
    await relay.start();
    try {
      return await waitFor(() => received.find((m) => m.value.toString('utf8').includes(eventId)), {
        timeoutMs: 30_000,
        what: `event ${eventId} relayed from ${table} to ${topic} (have ${received.length} records)`,
      });
    } finally {
      await relay.stop();
    }
  }

  async function payloadTypeOf(table: string): Promise<string> {
    const { rows } = await pool.query<{ type: string }>(
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
       WHERE attrelid = $1::regclass AND attname = 'payload'`,
      [table],
    );
    return rows[0].type;
  }

  it('enqueues data holding U+0000 and a lone surrogate without aborting the transaction, and relays the exact bytes', async () => {
    const table = `${schema}.outbox`;
    await createOutboxTable(pool, table);
    expect(await payloadTypeOf(table)).toBe('text');
    const outbox = new Outbox<ProbeEvents>({ table, topic, source: SOURCE });
    // Key order, no spaces, 1e300 and 1e-7 as JavaScript writes them: all of it must survive.
    const event = input({ z: 1, s: 'a\u0000b', lone: '\ud800', n: 1e300, tiny: 1e-7, a: [1, 2, 3] });
    const expected = buildCloudEvent(event, { source: SOURCE }).record.value;
    expect(expected.toString('utf8')).toContain('"data":{"z":1,"s":"a\\u0000b","lone":"\\ud800","n":1e+300');

    await enqueueWithChange(outbox, event);

    const { rows: changes } = await pool.query<{ id: string }>(
      `SELECT id FROM ${schema}.records WHERE id LIKE $1 ORDER BY id`,
      [`${event.id}-%`],
    );
    expect(changes.map((row) => row.id)).toEqual([`${event.id}-after`, `${event.id}-before`]);
    const { rows: stored } = await pool.query<{ payload: string }>(
      `SELECT payload::text AS payload FROM ${table} WHERE id = $1`,
      [event.id],
    );
    expect(stored[0].payload).toBe(expected.toString('utf8'));

    const message = await relayUntilReceived(table, event.id);
    expect(message.key).toBe(tenantId);
    expect(message.value.toString('hex')).toBe(expected.toString('hex'));
    const parsed = parseCloudEvent(
      message.value,
      { 'content-type': 'application/cloudevents+json' },
      256 * 1024,
    );
    expect(parsed).toMatchObject({ ok: true, event: { id: event.id, tenantId } });
  });

  it('keeps working on a payload jsonb table of an earlier version, names the migration, and the migration converts it', async () => {
    const table = `${schema}.outbox_jsonb`;
    // The DDL of the earlier versions, which differed only in this column.
    for (const statement of outboxDdl(table)) {
      await pool.query(statement.replace('payload text NOT NULL', 'payload jsonb NOT NULL'));
    }
    expect(await payloadTypeOf(table)).toBe('jsonb');
    const outbox = new Outbox<ProbeEvents>({ table, topic, source: SOURCE });

    const normal = input({ z: 1, a: 2, n: 1e300 });
    await enqueueWithChange(outbox, normal);
    const logged: string[] = [];
    const relayed = await relayUntilReceived(table, normal.id, (message) => logged.push(message));
    const parsed = parseCloudEvent(
      relayed.value,
      { 'content-type': 'application/cloudevents+json' },
      256 * 1024,
    );
    expect(parsed).toMatchObject({
      ok: true,
      event: { id: normal.id, tenantId, data: { z: 1, a: 2, n: 1e300 } },
    });
    // PostgreSQL's rendering, not the library's bytes: what the migration is for.
    expect(relayed.value.equals(buildCloudEvent(normal, { source: SOURCE }).record.value)).toBe(false);
    expect(logged.join('\n')).toContain(outboxPayloadTextDdl(table)[0]);

    // What jsonb cannot hold is refused with the library's error, naming the way out.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const error: unknown = await outbox.enqueue(client, input({ s: 'a\u0000b' })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishError);
      expect(error).toMatchObject({ code: 'invalid_config', retriable: false });
      expect((error as Error).message).toContain('outboxPayloadTextDdl');
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }

    const [migration] = outboxPayloadTextDdl(table);
    expect(migration).toBe(
      `ALTER TABLE "${schema}"."outbox_jsonb" ALTER COLUMN payload TYPE text USING payload::text`,
    );
    await pool.query(migration);
    expect(await payloadTypeOf(table)).toBe('text');
    // Twice is harmless.
    await pool.query(migration);
    const { rows: kept } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    expect(kept[0].n).toBe(1);

    const special = input({ z: 1, s: 'a\u0000b', lone: '\ud800', n: 1e300 });
    await enqueueWithChange(outbox, special);
    const after = await relayUntilReceived(table, special.id);
    expect(after.value.toString('hex')).toBe(
      buildCloudEvent(special, { source: SOURCE }).record.value.toString('hex'),
    );
  });
});
