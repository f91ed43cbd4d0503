import { randomBytes, randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import {
  createOutboxTable,
  EventPublisher,
  InvalidEventError,
  Outbox,
  OutboxRelay,
  parseCloudEvent,
  PublishError,
} from '@hookstream/publisher';
import { BASE_DATABASE_URL } from '../support/database';
import {
  collectTopic,
  connectedAdmin,
  testKafka,
  TEST_BROKERS,
  type ReceivedMessage,
} from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * The publisher library against the real broker and PostgreSQL: the outbox in the caller's
 * transaction (rolled back: nothing published), two relays at once keeping each tenant's order,
 * the metrics, the retention, and the direct publisher in both modes read back by the service's parser.
 */
interface RecordEvents {
  'record.updated': { recordId: string; version: number };
}

const TENANTS = Array.from({ length: 4 }, () => randomUUID());

describe('@hookstream/publisher on the real broker and database', () => {
  const schema = `outbox_it_${randomBytes(4).toString('hex')}`;
  const table = `${schema}.outbox`;
  const topic = `t-publisher-${randomBytes(4).toString('hex')}`;
  let kafka: Kafka;
  let admin: Admin;
  let pool: Pool;
  let collected: { messages: ReceivedMessage[]; stop: () => Promise<void> };

  beforeAll(async () => {
    kafka = testKafka('publisher-it');
    admin = await connectedAdmin(kafka);
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    pool = new Pool({ connectionString: BASE_DATABASE_URL, max: 6 });
    await pool.query(`CREATE SCHEMA ${schema}`);
    await createOutboxTable(pool, table);
    collected = await collectTopic(kafka, topic);
  });

  afterAll(async () => {
    await collected?.stop();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  it('publishes committed events once per id, in order per tenant, through two relays at once; none of a rolled-back transaction', async () => {
    const outbox = new Outbox<RecordEvents>({ table, topic, source: '/records-it' });
    const committed: string[] = [];
    const rolledBack: string[] = [];
    // Writers: 4 tenants, 60 transactions each, one in ten rolled back; two writers per tenant.
    const write = async (tenantId: string, writer: number) => {
      const client = await pool.connect();
      try {
        for (let version = 0; version < 30; version++) {
          await client.query('BEGIN');
          const event = await outbox.enqueue(client, {
            type: 'record.updated',
            tenantId,
            data: { recordId: `${tenantId}-${writer}`, version },
          });
          if (version % 10 === 9) {
            await client.query('ROLLBACK');
            rolledBack.push(event.id);
          } else {
            await client.query('COMMIT');
            committed.push(event.id);
          }
        }
      } finally {
        client.release();
      }
    };
    const relays = [0, 1].map(
      () => new OutboxRelay({ pool, kafka, table, topic, batchSize: 7, tenantsPerBatch: 2, pollMs: 10 }),
    );
    await Promise.all(relays.map((relay) => relay.start()));
    try {
      await Promise.all(TENANTS.flatMap((tenant) => [write(tenant, 0), write(tenant, 1)]));
      await waitFor(() => new Set(collected.messages.map(idOf)).size >= committed.length, {
        timeoutMs: 90_000,
        what: () => `${committed.length} events on ${topic}, have ${collected.messages.length}`,
      });
      const backlog = await waitFor(
        async () => ((await relays[0].backlog()).unsent === 0 ? relays[0].backlog() : null),
        {
          timeoutMs: 30_000,
          what: 'every committed row marked sent',
        },
      );
      expect(backlog.oldestUnsentAgeSeconds).toBe(0);
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
    }

    const ids = collected.messages.map(idOf);
    expect(new Set(ids)).toEqual(new Set(committed));
    expect(ids.filter((id) => rolledBack.includes(id))).toEqual([]);
    // Order per tenant: the sequence numbers of its rows, read back in the order they arrived.
    const { rows } = await pool.query<{ id: string; sequence: string }>(`SELECT id, sequence FROM ${table}`);
    const sequenceOf = new Map(rows.map((row) => [row.id, Number(row.sequence)]));
    for (const tenant of TENANTS) {
      const arrived = collected.messages.filter((m) => m.key === tenant).map((m) => sequenceOf.get(idOf(m))!);
      expect(arrived).toEqual([...arrived].sort((a, b) => a - b));
      expect(arrived).toHaveLength(54);
    }
    // Every one is an event the service accepts, keyed by its tenant.
    for (const message of collected.messages) {
      const parsed = parseCloudEvent(Buffer.from(message.value!), message.headers, 256 * 1024);
      expect(parsed).toMatchObject({ ok: true, event: { tenantId: message.key, type: 'record.updated' } });
    }
  });

  it('serves the lag metrics, and deletes sent rows past the retention', async () => {
    const outbox = new Outbox<RecordEvents>({ table, topic, source: '/records-it' });
    const client = await pool.connect();
    await client.query('BEGIN');
    const event = await outbox.enqueue(client, {
      type: 'record.updated',
      tenantId: TENANTS[0],
      data: { recordId: 'm', version: 1 },
    });
    await client.query('COMMIT');
    client.release();
    const options = { pool, kafka, table, topic, metricsPort: 0, metricsHost: '127.0.0.1' };
    const relay = new OutboxRelay({ ...options, retentionMs: 3_600_000 });
    const text = await relay.metrics.registry.metrics();
    expect(text).toMatch(/hookstream_outbox_unsent_rows 1\b/);
    expect(text).toMatch(/hookstream_outbox_oldest_unsent_age_seconds 0\.\d+/);
    await relay.start();
    try {
      await waitFor(async () => (await relay.backlog()).unsent === 0, {
        timeoutMs: 30_000,
        what: 'the row sent',
      });
      const scraped = await (await fetch(`http://127.0.0.1:${relay.metricsPort()}/metrics`)).text();
      expect(scraped).toMatch(/hookstream_outbox_published_total [1-9]/);
      expect(scraped).toMatch(/hookstream_outbox_unsent_rows 0\b/);
      // Within the retention: kept.
      expect(await relay.applyRetention()).toBe(0);
    } finally {
      await relay.stop();
    }
    const shortRetention = new OutboxRelay({ pool, kafka, table, topic, retentionMs: 1 });
    expect(await shortRetention.applyRetention()).toBeGreaterThan(0);
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} WHERE id = $1`,
      [event.id],
    );
    expect(rows[0].n).toBe(0);
  });

  it('refuses to enqueue outside a transaction and refuses invalid events before writing', async () => {
    const outbox = new Outbox<RecordEvents>({ table, topic, source: '/records-it' });
    const client = new Client({ connectionString: BASE_DATABASE_URL });
    await client.connect();
    try {
      await expect(
        outbox.enqueue(client, {
          type: 'record.updated',
          tenantId: TENANTS[0],
          data: { recordId: 'x', version: 1 },
        }),
      ).rejects.toMatchObject({ code: 'not_in_transaction' });
      await client.query('BEGIN');
      await expect(
        outbox.enqueue(client, {
          type: 'record.updated',
          tenantId: TENANTS[0],
          data: { recordId: 'x', version: 1 },
          id: 'has space',
        }),
      ).rejects.toBeInstanceOf(InvalidEventError);
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
  });

  it("enqueues in a TypeORM transaction's EntityManager, and refuses the non-transactional one", async () => {
    const outbox = new Outbox<RecordEvents>({ table, topic, source: '/records-it' });
    const dataSource = await new DataSource({ type: 'postgres', url: BASE_DATABASE_URL }).initialize();
    try {
      const input = {
        type: 'record.updated',
        tenantId: TENANTS[3],
        data: { recordId: 'orm', version: 1 },
      } as const;
      await expect(outbox.enqueue(dataSource.manager, input)).rejects.toMatchObject({
        code: 'not_in_transaction',
      });
      const committed = await dataSource.transaction((manager) => outbox.enqueue(manager, input));
      const rolledBack = await dataSource
        .transaction(async (manager) => {
          const event = await outbox.enqueue(manager, input);
          throw Object.assign(new Error('roll back'), { event });
        })
        .catch((error: { event: { id: string } }) => error.event);
      const { rows } = await pool.query<{ id: string }>(`SELECT id FROM ${table} WHERE id = ANY($1)`, [
        [committed.id, rolledBack.id],
      ]);
      expect(rows.map((row) => row.id)).toEqual([committed.id]);
    } finally {
      await dataSource.destroy();
    }
  });

  it('publishes directly in structured and binary mode; the service reads both back as the same event', async () => {
    const before = collected.messages.length;
    const publisher = new EventPublisher<RecordEvents>({ kafka, topic, source: '/records-it' });
    await publisher.connect();
    const binary = new EventPublisher<RecordEvents>({
      brokers: TEST_BROKERS,
      topic,
      source: '/records-it',
      mode: 'binary',
    });
    await binary.connect();
    try {
      const a = await publisher.publish({
        type: 'record.updated',
        tenantId: TENANTS[1],
        data: { recordId: 'd', version: 1 },
      });
      const b = await binary.publish({
        type: 'record.updated',
        tenantId: TENANTS[1],
        data: { recordId: 'd', version: 2 },
      });
      await expect(
        publisher.publish({
          type: 'record.updated',
          tenantId: TENANTS[1],
          data: { recordId: 'd', version: 3 },
          time: 'yesterday',
        }),
      ).rejects.toMatchObject({ code: 'invalid_event', retriable: false });
      const arrived = await waitFor(
        () => (collected.messages.length >= before + 2 ? collected.messages.slice(before) : null),
        {
          timeoutMs: 30_000,
          what: 'two direct publishes',
        },
      );
      expect(arrived).toHaveLength(2);
      const events = arrived.map((m) => parseCloudEvent(Buffer.from(m.value!), m.headers, 256 * 1024));
      expect(events).toEqual([
        { ok: true, event: a },
        { ok: true, event: b },
      ]);
      expect(arrived[1].headers).toMatchObject({ ce_id: b.id, ce_tenantid: TENANTS[1] });
    } finally {
      await publisher.disconnect();
      await binary.disconnect();
    }
  });

  it('reports a broker that does not acknowledge as a retriable PublishError', async () => {
    const publisher = new EventPublisher<RecordEvents>({
      kafka,
      topic: `${topic}-missing`,
      source: '/records-it',
    });
    await publisher.connect();
    try {
      const error: unknown = await publisher
        .publish({ type: 'record.updated', tenantId: TENANTS[2], data: { recordId: 'z', version: 1 } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishError);
      expect(error).toMatchObject({ code: 'not_acknowledged', retriable: true });
    } finally {
      await publisher.disconnect();
    }
  });
});

function idOf(message: ReceivedMessage): string {
  return (JSON.parse(message.value!) as { id: string }).id;
}
