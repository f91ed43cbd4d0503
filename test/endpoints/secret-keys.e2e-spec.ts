import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { DeliveryTask } from '../../src/domain/delivery-task';
import { deriveTaskKeys, TaskSeal } from '../../src/domain/task-seal';
import { SecretCipher } from '../../src/endpoints/secrets/secret-cipher';
import type { ApiClient } from '../support/api';
import type { ReceivedRequest } from '../support/receiver';
import { createStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/** Booting with HOOKSTREAM_SECRET_KEY changed: one unreadable endpoint secret costs that endpoint only. */

const KEY_A = 'secret-keys-test-key-a-0123456789abcdef';
const KEY_B = 'secret-keys-test-key-b-0123456789abcdef';
const KEY_A_ID = new SecretCipher([KEY_A]).currentKeyId;
const KEY_B_ID = new SecretCipher([KEY_B]).currentKeyId;
const REENCRYPT_SCRIPT = join(__dirname, '..', '..', 'dist', 'endpoints', 'secrets', 'reencrypt.js');

interface ScriptRun {
  code: number | null;
  output: string;
}

/** Runs the built `npm run secrets:reencrypt` against the stack's database with exactly these keys. */
function reencrypt(stack: Stack, keys: { current: string; previous?: string }, args: string[] = []) {
  return new Promise<ScriptRun>((resolve, reject) => {
    const child = spawn(process.execPath, [REENCRYPT_SCRIPT, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: stack.database.url,
        HOOKSTREAM_SECRET_KEY: keys.current,
        ...(keys.previous ? { HOOKSTREAM_SECRET_KEY_PREVIOUS: keys.previous } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`secrets:reencrypt did not exit within 60 s; output: ${output}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function metric(stack: Stack, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${stack.service.url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const unreadableGauge = (stack: Stack) => metric(stack, 'hookstream_endpoints{status="unreadable"}');

/** Key ids of each endpoint's stored secrets, read from PostgreSQL. */
async function storedKeyIds(stack: Stack): Promise<Record<string, string[]>> {
  const ds = await stack.database.connect();
  const rows: Array<{ id: string; secrets: Array<{ keyId: string }> }> = await ds.query(
    'SELECT id, secrets FROM endpoints',
  );
  return Object.fromEntries(rows.map((row) => [row.id, row.secrets.map((secret) => secret.keyId)]));
}

function verified(secret: string, request: ReceivedRequest): unknown {
  return new Webhook(secret).verify(request.body, request.headers);
}

/**
 * One parked and one held delivery, sealed under KEY_A, written as the service writes them
 * (strict-parking.ts, held-deliveries.ts): what a key rotation finds waiting in PostgreSQL.
 */
async function sealedWaitingRows(stack: Stack, endpointId: string, tenantId: string) {
  const task: DeliveryTask = {
    deliveryId: randomUUID(),
    eventId: 'evt-waiting',
    endpointId,
    tenantId,
    eventType: 'record.updated',
    eventTime: '2026-01-01T00:00:00.000Z',
    data: { waiting: true },
    publishedAtMs: 1_700_000_000_000,
  };
  const sealed = new TaskSeal(deriveTaskKeys([KEY_A])).seal(task);
  const ds = await stack.database.connect();
  const [parked]: Array<{ id: string }> = await ds.query(
    `INSERT INTO parked_deliveries (endpoint_id, ordering_key, delivery_id, task) VALUES ($1, '', $2, $3)
     RETURNING id::text AS id`,
    [endpointId, task.deliveryId, sealed],
  );
  await ds.query(
    `INSERT INTO held_deliveries (endpoint_id, published_at_ms, task, state) VALUES ($1, $2, $3, $4)`,
    [endpointId, task.publishedAtMs, sealed, JSON.stringify({ attempt: 1 })],
  );
  return { task, sealed, parked: parked.id };
}

async function waitingTasks(stack: Stack): Promise<Buffer[]> {
  const ds = await stack.database.connect();
  const rows: Array<{ task: Buffer }> = await ds.query(
    'SELECT task FROM parked_deliveries UNION ALL SELECT task FROM held_deliveries',
  );
  return rows.map((row) => row.task);
}

/** A tenant whose API key outlives reboots (each boot listens on a new port). */
async function newTenant(stack: Stack, name: string) {
  const created = await stack.api.ok<{ id: string; apiKey: string }>('POST', '/v1/tenants', { name });
  return { id: created.id, client: (): ApiClient => stack.api.as(created.apiKey) };
}

describe('endpoint secrets across a change of HOOKSTREAM_SECRET_KEY (real service, broker and database)', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stopStack(stack);
    stack = undefined;
  });

  it('boots with an endpoint no configured key can read, reports it, and the re-encryption script fixes it', async () => {
    const world = (stack = await createStack('secret-keys'));
    const { receiver, producer, inputTopic } = world;
    const publish = async (tenantId: string, n: number) => {
      const event = structuredEvent(tenantId, 'record.updated', { n });
      await producer.send({ topic: inputTopic, acks: -1, messages: [event.message] });
      return event.id;
    };
    const arrived = (path: string, eventId: string) =>
      waitFor(() => receiver.on(path).find((request) => request.headers['webhook-id'] === eventId), {
        what: `event ${eventId} at ${path}`,
      });

    // Key A: E1 is created, its secret encrypted with A.
    await world.boot('keys-a', { HOOKSTREAM_SECRET_KEY: KEY_A });
    const tenant = await newTenant(world, 'Key change');
    const e1 = await tenant.client().ok('POST', '/v1/endpoints', { url: receiver.url('/e1') });
    const e1Secret: string = (await tenant.client().ok('GET', `/v1/endpoints/${e1.id}/secret`)).key;

    // Key B, A still accepted: E2 is created under B; E1 still reads.
    await world.boot('keys-b-a', { HOOKSTREAM_SECRET_KEY: KEY_B, HOOKSTREAM_SECRET_KEY_PREVIOUS: KEY_A });
    const e2 = await tenant.client().ok('POST', '/v1/endpoints', { url: receiver.url('/e2') });
    const e2Secret: string = (await tenant.client().ok('GET', `/v1/endpoints/${e2.id}/secret`)).key;
    expect(await tenant.client().ok('GET', `/v1/endpoints/${e1.id}`)).toMatchObject({ problem: null });
    expect(await storedKeyIds(world)).toEqual({ [e1.id]: [KEY_A_ID], [e2.id]: [KEY_B_ID] });

    // Key B alone: the service starts, E2 works, E1 is reported and its delivery dead-lettered.
    await world.boot('keys-b', { HOOKSTREAM_SECRET_KEY: KEY_B, HOOKSTREAM_ENDPOINT_CACHE_REFRESH: '500ms' });
    expect((await fetch(`${world.service.url}/readyz`)).status).toBe(200);
    const broken = await tenant.client().ok('GET', `/v1/endpoints/${e1.id}`);
    expect(broken.problem).toContain(`encrypted with key ${KEY_A_ID}, which no configured key`);
    expect(broken.problem).toContain(
      '`npm run secrets:reencrypt` with that old key in HOOKSTREAM_SECRET_KEY_PREVIOUS',
    );
    expect(await tenant.client().ok('GET', `/v1/endpoints/${e2.id}`)).toMatchObject({ problem: null });
    const secretRead = await tenant.client().request('GET', `/v1/endpoints/${e1.id}/secret`);
    expect(secretRead).toMatchObject({ status: 409, body: { error: 'conflict', message: broken.problem } });
    expect(await unreadableGauge(world)).toBe(1);
    expect(await metric(world, 'hookstream_endpoints{status="enabled"}')).toBe(1);

    const first = await publish(tenant.id, 1);
    expect(verified(e2Secret, await arrived('/e2', first))).toMatchObject({ data: { n: 1 } });
    const [deadLetter] = await waitFor(
      async () => {
        const page = await tenant.client().ok('GET', `/v1/dead-letters?endpointId=${e1.id}`);
        return page.data.length > 0 ? page.data : null;
      },
      { what: `the dead letter of E1 for event ${first}` },
    );
    expect(deadLetter).toMatchObject({ eventId: first, reason: 'endpoint_unreadable' });
    expect(deadLetter.lastError).toContain(KEY_A_ID);
    expect(receiver.on('/e1')).toHaveLength(0);
    // Re-read since (this PATCH refreshes E1 in the cache before answering, and the cache reloads
    // every 500 ms), E1 is still unreadable: one warning, counted once.
    const patched = await tenant
      .client()
      .ok('PATCH', `/v1/endpoints/${e1.id}`, { description: 'still here' });
    expect(patched).toMatchObject({ description: 'still here', problem: broken.problem });
    const warnings = world.service.logs.filter(
      (entry) => entry.component === 'endpoint-directory' && entry.endpointId === e1.id,
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40 });
    expect(warnings[0].problem).toBe(broken.problem);
    expect(await metric(world, 'hookstream_endpoints_unreadable_total')).toBe(1);

    // The script: without A it can fix nothing and says which endpoint; a dry run with A writes nothing.
    const withoutA = await reencrypt(world, { current: KEY_B });
    expect(withoutA.code).toBe(2);
    expect(withoutA.output).toContain(`endpoint ${e1.id} is unreadable: ${broken.problem}`);
    expect(withoutA.output).toContain(`unreadable: 1 endpoint(s): ${e1.id}\n`);
    expect(withoutA.output).toContain('already current: 1 endpoint(s)\n');
    const dryRun = await reencrypt(world, { current: KEY_B, previous: KEY_A }, ['--dry-run']);
    expect(dryRun.code).toBe(0);
    expect(dryRun.output).toContain('re-encrypted: 1 endpoint(s) (1 secret(s) or header set(s) re-encrypted');
    expect(dryRun.output).toContain('dry run: nothing was written');
    expect(await storedKeyIds(world)).toEqual({ [e1.id]: [KEY_A_ID], [e2.id]: [KEY_B_ID] });

    const run = await reencrypt(world, { current: KEY_B, previous: KEY_A });
    expect(run).toMatchObject({ code: 0 });
    expect(run.output).toContain(
      're-encrypted: 1 endpoint(s) (1 secret(s) or header set(s) re-encrypted, 0 expired secret(s) dropped)\n',
    );
    expect(run.output).toContain('already current: 1 endpoint(s)\n');
    expect(run.output).toContain('unreadable: 0 endpoint(s)\n');
    expect(await storedKeyIds(world)).toEqual({ [e1.id]: [KEY_B_ID], [e2.id]: [KEY_B_ID] });
    const again = await reencrypt(world, { current: KEY_B });
    expect(again.code).toBe(0);
    expect(again.output).toContain('re-encrypted: 0 endpoint(s)');
    expect(again.output).toContain('already current: 2 endpoint(s)\n');
    for (const output of [withoutA.output, dryRun.output, run.output, again.output]) {
      for (const secret of [e1Secret, e2Secret]) expect(output).not.toContain(secret.slice(6, 26));
    }
    // The running service learns of the change by NOTIFY, without a restart.
    await waitFor(async () => (await unreadableGauge(world)) === 0, {
      what: 'the running service to find E1 readable after the script',
    });

    // Key B alone again: E1 is whole, with the secret it always had; its dead letter replays.
    await world.boot('keys-b-fixed', { HOOKSTREAM_SECRET_KEY: KEY_B });
    expect(await tenant.client().ok('GET', `/v1/endpoints/${e1.id}`)).toMatchObject({ problem: null });
    expect(await tenant.client().ok('GET', `/v1/endpoints/${e1.id}/secret`)).toEqual({ key: e1Secret });
    expect(await unreadableGauge(world)).toBe(0);
    const replay = await tenant.client().request('POST', `/v1/dead-letters/${deadLetter.id}/replay`);
    expect(replay).toMatchObject({ status: 202, body: { replayed: 1 } });
    expect(verified(e1Secret, await arrived('/e1', first))).toMatchObject({ data: { n: 1 } });

    const second = await publish(tenant.id, 2);
    expect(verified(e1Secret, await arrived('/e1', second))).toMatchObject({ data: { n: 2 } });
    expect(verified(e2Secret, await arrived('/e2', second))).toMatchObject({ data: { n: 2 } });
  });

  it('rotating an unreadable endpoint secret fixes it, dropping the old secret at once', async () => {
    const world = (stack = await createStack('secret-rotate'));
    const { receiver, producer, inputTopic } = world;
    await world.boot('rotate-a', { HOOKSTREAM_SECRET_KEY: KEY_A });
    const tenant = await newTenant(world, 'Rotate to fix');
    const e3 = await tenant.client().ok('POST', '/v1/endpoints', { url: receiver.url('/e3') });

    await world.boot('rotate-b', { HOOKSTREAM_SECRET_KEY: KEY_B });
    expect((await tenant.client().ok('GET', `/v1/endpoints/${e3.id}`)).problem).toContain(KEY_A_ID);
    const rotated = await tenant
      .client()
      .request('POST', `/v1/endpoints/${e3.id}/secret/rotate`, { gracePeriodSeconds: 3600 });
    expect(rotated.status).toBe(200);
    const fresh: string = rotated.body.key;
    expect(await tenant.client().ok('GET', `/v1/endpoints/${e3.id}`)).toMatchObject({ problem: null });
    expect(await tenant.client().ok('GET', `/v1/endpoints/${e3.id}/secret`)).toEqual({ key: fresh });
    // Dropped despite the grace period: it could never sign.
    expect(await storedKeyIds(world)).toEqual({ [e3.id]: [KEY_B_ID] });
    expect(await unreadableGauge(world)).toBe(0);

    const event = structuredEvent(tenant.id, 'record.updated', { n: 3 });
    await producer.send({ topic: inputTopic, acks: -1, messages: [event.message] });
    const request = await waitFor(
      () => receiver.on('/e3').find((candidate) => candidate.headers['webhook-id'] === event.id),
      { what: `event ${event.id} at /e3` },
    );
    expect(request.headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect(verified(fresh, request)).toMatchObject({ data: { n: 3 } });
  });
  it('reseals the delivery tasks parked or held in PostgreSQL under the current key', async () => {
    const world = (stack = await createStack('secret-keys-waiting'));
    await world.boot('migrate', { HOOKSTREAM_SECRET_KEY: KEY_A });
    // Stopped, so no sweep releases the rows while the script runs: only the database matters here.
    await world.service.stop();
    const waiting = await sealedWaitingRows(world, randomUUID(), randomUUID());

    const withoutA = await reencrypt(world, { current: KEY_B });
    expect(withoutA.code).toBe(2);
    expect(withoutA.output).toContain(
      `parked_deliveries: 0 task(s) resealed under the current key, 0 already, 1 verify under no configured key (row ids ${waiting.parked})`,
    );
    const dryRun = await reencrypt(world, { current: KEY_B, previous: KEY_A }, ['--dry-run']);
    expect(dryRun.code).toBe(0);
    expect(dryRun.output).toContain('held_deliveries: 1 task(s) resealed under the current key, 0 already');
    expect(await waitingTasks(world)).toEqual([waiting.sealed, waiting.sealed]);

    const run = await reencrypt(world, { current: KEY_B, previous: KEY_A });
    expect(run.code).toBe(0);
    for (const table of ['parked_deliveries', 'held_deliveries']) {
      expect(run.output).toContain(
        `${table}: 1 task(s) resealed under the current key, 0 already, 0 verify under no configured key\n`,
      );
    }
    // Key B alone verifies both now, and they are the same task.
    const keyB = new TaskSeal(deriveTaskKeys([KEY_B]));
    for (const bytes of await waitingTasks(world)) expect(keyB.open(bytes).task).toEqual(waiting.task);
    const again = await reencrypt(world, { current: KEY_B });
    expect(again.code).toBe(0);
    expect(again.output).toContain('held_deliveries: 0 task(s) resealed under the current key, 1 already');
  });
});
