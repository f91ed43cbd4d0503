import { randomBytes, randomUUID } from 'node:crypto';
import type { Admin, Kafka, Message, Producer, ProducerConfig } from 'kafkajs';
import { Pool } from 'pg';
import { createOutboxTable, Outbox, OutboxRelay } from '@hookstream/publisher';
import { BASE_DATABASE_URL } from '../support/database';
import { collectTopic, connectedAdmin, testKafka, type ReceivedMessage } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * Two relays work in parallel (review M2): while relay A's first send hangs, relay B takes the
 * tenants A did not lock, and A holds the locks of only the tenants whose rows it took. Both on the
 * real broker and database, with the relays' defaults (500 rows, at most 64 tenants per claim).
 */
interface RecordEvents {
  'record.updated': { recordId: string; version: number };
}

const TENANT_COUNT = 200;
const ROWS_PER_TENANT = 10;

describe('two outbox relays on one backlog', () => {
  const schema = `outbox_par_${randomBytes(4).toString('hex')}`;
  const table = `${schema}.outbox`;
  const topic = `t-relay-parallel-${randomBytes(4).toString('hex')}`;
  const relayAName = `relay-a-${randomBytes(4).toString('hex')}`;
  let kafka: Kafka;
  let admin: Admin;
  let pool: Pool;
  let poolA: Pool;
  let collected: { messages: ReceivedMessage[]; stop: () => Promise<void> };

  beforeAll(async () => {
    kafka = testKafka('relay-parallel-it');
    admin = await connectedAdmin(kafka);
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    pool = new Pool({ connectionString: BASE_DATABASE_URL, max: 4 });
    // Relay A's own connections, named, so the test can count the locks A holds.
    poolA = new Pool({ connectionString: BASE_DATABASE_URL, max: 2, application_name: relayAName });
    await pool.query(`CREATE SCHEMA ${schema}`);
    await createOutboxTable(pool, table);
    collected = await collectTopic(kafka, topic);
  });

  afterAll(async () => {
    await collected?.stop();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
    await poolA?.end();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  it("relay B publishes the tenants relay A did not take while A's send hangs; each tenant stays in order", async () => {
    const tenants = Array.from({ length: TENANT_COUNT }, () => randomUUID());
    const outbox = new Outbox<RecordEvents>({ table, topic, source: '/records-par' });
    // One transaction per tenant: its rows are consecutive in sequence order, so 50 tenants fill a batch.
    const client = await pool.connect();
    try {
      for (const tenantId of tenants) {
        await client.query('BEGIN');
        for (let version = 0; version < ROWS_PER_TENANT; version++) {
          await outbox.enqueue(client, {
            type: 'record.updated',
            tenantId,
            data: { recordId: tenantId, version },
          });
        }
        await client.query('COMMIT');
      }
    } finally {
      client.release();
    }

    let releaseA!: () => void;
    const gate = new Promise<void>((resolve) => (releaseA = resolve));
    const firstSendOfA: Message[] = [];
    const kafkaA = holdingFirstSend(kafka, gate, (messages) => firstSendOfA.push(...messages));
    const relayA = new OutboxRelay({ pool: poolA, kafka: kafkaA, table, topic, pollMs: 10 });
    const relayB = new OutboxRelay({ pool, kafka, table, topic, pollMs: 10 });
    await relayA.start();
    try {
      await waitFor(() => firstSendOfA.length > 0, { timeoutMs: 30_000, what: "relay A's first send" });
      const tenantsOfA = new Set(firstSendOfA.map((message) => String(message.key)));
      // A holds the locks of the tenants in its batch and of no other.
      const { rows } = await pool.query<{ locks: number }>(
        `SELECT count(*)::int AS locks FROM pg_locks l JOIN pg_stat_activity a USING (pid)
         WHERE a.application_name = $1 AND l.locktype = 'advisory'`,
        [relayAName],
      );
      expect(firstSendOfA).toHaveLength(500);
      expect({ tenantsOfA: tenantsOfA.size, locksOfA: rows[0].locks }).toEqual({
        tenantsOfA: 50,
        locksOfA: 50,
      });
      await relayB.start();
      // Nothing of A's reaches the topic until the gate opens: what arrives is B's.
      const othersRows = (TENANT_COUNT - tenantsOfA.size) * ROWS_PER_TENANT;
      await waitFor(() => collected.messages.length >= othersRows, {
        timeoutMs: 30_000,
        what: () =>
          `relay B to publish the ${othersRows} rows of the tenants relay A did not take while A is blocked; B published ${collected.messages.length}`,
      });
      expect(collected.messages.filter((message) => tenantsOfA.has(message.key!))).toEqual([]);
      releaseA();
      await waitFor(() => new Set(collected.messages.map(idOf)).size >= TENANT_COUNT * ROWS_PER_TENANT, {
        timeoutMs: 60_000,
        what: () => `${TENANT_COUNT * ROWS_PER_TENANT} events on ${topic}, have ${collected.messages.length}`,
      });
      await waitFor(async () => (await relayB.backlog()).unsent === 0, {
        timeoutMs: 30_000,
        what: 'every row marked sent',
      });
    } finally {
      releaseA();
      await Promise.all([relayA.stop(), relayB.stop()]);
    }

    // Each tenant's rows arrived once each, in sequence order.
    const { rows } = await pool.query<{ id: string; sequence: string }>(`SELECT id, sequence FROM ${table}`);
    const sequenceOf = new Map(rows.map((row) => [row.id, Number(row.sequence)]));
    for (const tenant of tenants) {
      const arrived = collected.messages.filter((m) => m.key === tenant).map((m) => sequenceOf.get(idOf(m))!);
      expect(arrived).toHaveLength(ROWS_PER_TENANT);
      expect(arrived).toEqual([...arrived].sort((a, b) => a - b));
    }
  });
});

/** `kafka`, whose producers hold their first send until `gate` resolves; `onHeld` sees its messages. */
function holdingFirstSend(kafka: Kafka, gate: Promise<void>, onHeld: (messages: Message[]) => void): Kafka {
  return new Proxy(kafka, {
    get: (target, property, receiver) => {
      if (property !== 'producer') return Reflect.get(target, property, receiver) as unknown;
      return (config?: ProducerConfig): Producer => {
        const producer = target.producer(config);
        let held = false;
        return {
          ...producer,
          send: async (record) => {
            if (!held) {
              held = true;
              onHeld(record.messages);
              await gate;
            }
            return producer.send(record);
          },
        };
      };
    },
  });
}

function idOf(message: ReceivedMessage): string {
  return (JSON.parse(message.value!) as { id: string }).id;
}
