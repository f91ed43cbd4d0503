/**
 * The live demo behind the README's first command: registers demo endpoints on a local receiver
 * that verifies every signature, publishes sample events, and prints each delivery as it lands.
 * Endpoints: /orders (record.*), /everything (*), /flaky (fails twice, then recovers) and
 * /broken (always 500: its deliveries end in the dead-letter queue).
 *
 * The demo is also a "platform service" of its own: it keeps records in its own schema
 * (`demo_platform`, not Hookstream's) and announces each change with `record.updated` through the
 * transactional outbox of @hookstream/publisher, in the same transaction as the change; an
 * in-process relay publishes the outbox to the input topic. The other samples go through
 * `POST /v1/events`, the other way in.
 *
 *   node dist/demo/run-demo.js [--once]     (HOOKSTREAM_URL, HOOKSTREAM_ADMIN_TOKEN from env)
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOutboxTable, Outbox, OutboxRelay } from '@hookstream/publisher';
import { Pool } from 'pg';
import { Webhook } from 'standardwebhooks';

const baseUrl = process.env.HOOKSTREAM_URL ?? 'http://127.0.0.1:3000';
const adminToken = process.env.HOOKSTREAM_ADMIN_TOKEN ?? '';
const once = process.argv.includes('--once');
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://hookstream:hookstream@127.0.0.1:5432/hookstream';
const inputTopic = (process.env.HOOKSTREAM_INPUT_TOPICS ?? 'platform.events').split(',')[0].trim();
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** The events the demo's platform service declares (the typed map of the publisher library). */
interface DemoPlatformEvents {
  'record.updated': { recordId: string; fields: { status: string }; version: number; round: number };
}

/**
 * The platform side: a records table and an outbox in the demo's own schema, one outbox per input
 * topic so two demos on one database (the live one and test.sh's check) never publish each other's rows.
 */
async function startPlatformService(tenantId: string) {
  const pool = new Pool({ connectionString: databaseUrl, max: 3 });
  const table = `demo_platform.outbox_${inputTopic
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 40)}`;
  await pool.query('CREATE SCHEMA IF NOT EXISTS demo_platform');
  await pool.query(
    'CREATE TABLE IF NOT EXISTS demo_platform.records (id text PRIMARY KEY, tenant_id text NOT NULL, status text NOT NULL, version int NOT NULL)',
  );
  await createOutboxTable(pool, table);
  const outbox = new Outbox<DemoPlatformEvents>({
    table,
    topic: inputTopic,
    source: '/demo-platform/records',
  });
  const relay = new OutboxRelay({ pool, brokers, table, topic: inputTopic, retentionMs: 3_600_000 });
  await relay.start();
  /** Updates the record and enqueues record.updated in one transaction: both commit, or neither. */
  const updateRecord = async (recordId: string, status: string, round: number) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ version: number }>(
        `INSERT INTO demo_platform.records (id, tenant_id, status, version) VALUES ($1, $2, $3, 1)
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, version = demo_platform.records.version + 1
         RETURNING version`,
        [recordId, tenantId, status],
      );
      await outbox.enqueue(client, {
        type: 'record.updated',
        tenantId,
        subject: `record/${recordId}`,
        data: { recordId, fields: { status }, version: rows[0].version, round },
      });
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
  const stop = async () => {
    await relay.stop();
    await pool.end();
  };
  return { updateRecord, stop };
}

interface Delivery {
  path: string;
  type: string;
  id: string;
  verified: boolean;
  status: number;
  attempt: string;
}

const secrets = new Map<string, string>();
const failuresSoFar = new Map<string, number>();
const delivered: Delivery[] = [];
let brokenRecovered = false;

async function api<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} -> ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

function decide(path: string, eventId: string): number {
  if (path === '/broken') return brokenRecovered ? 204 : 500;
  if (path === '/flaky') {
    const failures = failuresSoFar.get(eventId) ?? 0;
    if (failures < 2) {
      failuresSoFar.set(eventId, failures + 1);
      return 503;
    }
  }
  return 204;
}

async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString();
  const path = req.url ?? '/';
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
  let verified = false;
  let payload: { type?: string; id?: string } = {};
  try {
    payload = new Webhook(secrets.get(path) ?? '').verify(body, headers) as typeof payload;
    verified = true;
  } catch {
    payload = JSON.parse(body) as typeof payload;
  }
  const status = verified ? decide(path, payload.id ?? '') : 401;
  res.writeHead(status).end();
  const attempt = `${(failuresSoFar.get(payload.id ?? '') ?? 0) + (status < 300 ? 1 : 0)}`;
  const delivery = { path, type: payload.type ?? '?', id: payload.id ?? '?', verified, status, attempt };
  if (status < 300) delivered.push(delivery);
  const mark = status < 300 ? '\u001b[32mdelivered\u001b[0m' : `\u001b[31manswered ${status}\u001b[0m`;
  console.log(
    `${new Date().toISOString().slice(11, 23)}  ${path.padEnd(12)} ${delivery.type.padEnd(22)} ${delivery.id.slice(0, 8)}  ${mark}  signature ${verified ? 'verified' : 'INVALID'}`,
  );
}

async function main(): Promise<void> {
  if (!adminToken) throw new Error('HOOKSTREAM_ADMIN_TOKEN is required');
  const server = createServer((req, res) => void onRequest(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const receiver = (path: string) => `http://127.0.0.1:${port}${path}`;
  console.log(`demo receiver listening on 127.0.0.1:${port}`);

  const tenant = await api<{ id: string; apiKey: string }>(adminToken, 'POST', '/v1/tenants', {
    name: 'Demo tenant',
  });
  const endpoints: Array<[string, string[]]> = [
    ['/orders', ['record.*']],
    ['/everything', ['*']],
    ['/flaky', ['transaction.processed']],
    ['/broken', ['status.changed']],
  ];
  for (const [path, eventTypes] of endpoints) {
    const endpoint = await api<{ id: string }>(tenant.apiKey, 'POST', '/v1/endpoints', {
      url: receiver(path),
      eventTypes,
      description: `demo ${path}`,
    });
    const { key } = await api<{ key: string }>(tenant.apiKey, 'GET', `/v1/endpoints/${endpoint.id}/secret`);
    secrets.set(path, key);
    console.log(`registered ${path.padEnd(12)} for ${eventTypes.join(', ')}`);
  }

  const platform = await startPlatformService(tenant.id);
  const recordId = `rec_${tenant.id.slice(0, 8)}`;
  const samples = [
    { type: 'status.changed', data: { from: 'pending', to: 'approved' } },
    { type: 'transaction.processed', data: { transactionId: 'txn_1', amount: 4200, currency: 'EUR' } },
  ];
  let round = 0;
  const publish = async () => {
    await platform.updateRecord(recordId, round % 2 === 0 ? 'active' : 'archived', round);
    for (const sample of samples) {
      await api(tenant.apiKey, 'POST', '/v1/events', { ...sample, data: { ...sample.data, round } });
    }
    round += 1;
  };
  await publish();
  if (once) {
    // Three events (record.updated through the outbox): /orders 1, /everything 3, /flaky 1 after two retries.
    const deadline = Date.now() + 60_000;
    while (delivered.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    server.close();
    await platform.stop();
    if (delivered.length < 5)
      throw new Error(`only ${delivered.length} of 5 demo deliveries arrived within 60 s`);
    console.log(`demo: ${delivered.length} deliveries, all signatures verified`);
    return;
  }
  console.log(
    `\nlive: publishing 3 events every 2 s. API docs: ${baseUrl}/docs  metrics: ${baseUrl}/metrics  (Ctrl-C stops)\n`,
  );
  setInterval(
    () => void publish().catch((error: Error) => console.error(`publish failed: ${error.message}`)),
    2000,
  );
  // Once the first /broken deliveries are dead-lettered: "fix" /broken and replay them.
  void replayBroken(tenant.apiKey).catch((error: Error) => console.error(`replay failed: ${error.message}`));
}

async function replayBroken(apiKey: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let page: { data: Array<{ id: string; reason: string }> };
  let exhausted: Array<{ id: string; reason: string }>;
  for (;;) {
    page = await api(apiKey, 'GET', '/v1/dead-letters?limit=100');
    exhausted = page.data.filter((dead) => dead.reason === 'attempts_exhausted');
    if (exhausted.length > 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  console.log(
    `\n\u001b[33mdead-letter queue: ${page.data.length} entries. /broken recovers now; replaying ${exhausted.length} (same webhook-id)\u001b[0m\n`,
  );
  brokenRecovered = true;
  for (const dead of exhausted) await api(apiKey, 'POST', `/v1/dead-letters/${dead.id}/replay`);
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
