import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { requestFingerprint } from '../../src/domain/idempotency';
import type { ApiClient } from '../support/api';
import { BASE_DATABASE_URL } from '../support/database';
import { sampleOf, scrape } from '../support/metrics';
import { startStack, stopStack, type Stack } from '../support/stack';
import { GiveUp, waitFor } from '../support/wait';

const PATH = '/idem';
const REPLAYED = 'idempotent-replayed';

/**
 * Issue 17, durable idempotency on ingest, on the real broker and database: a POST repeated with
 * the same event id or Idempotency-Key is answered with the first event's id and delivered once,
 * across a restart (the fan-out's memory of ids is empty then, so only the database can tell) and
 * across two instances at once; another body under a used key is refused; a key past the window
 * is accepted again.
 */
describe('POST /v1/events: durable idempotency', () => {
  let stack: Stack | undefined;
  let tenant: { id: string; apiKey: string; client: ApiClient };
  let db: DataSource;

  beforeAll(async () => {
    stack = await startStack('idem');
    tenant = await stack.api.createTenant('idem');
    await tenant.client.ok('POST', '/v1/endpoints', { url: stack.receiver.url(PATH) });
    db = await stack.database.connect();
  });

  afterAll(() => stopStack(stack));

  const publish = (client: ApiClient, body: Record<string, unknown>, key?: string) =>
    client.request<{ id: string; error?: string; message?: string }>(
      'POST',
      '/v1/events',
      body,
      key === undefined ? {} : { 'idempotency-key': key },
    );
  const deliveriesOf = (eventId: string) =>
    stack!.receiver.on(PATH).filter((request) => request.headers['webhook-id'] === eventId);
  const deliveriesWith = (nonce: string) =>
    stack!.receiver.on(PATH).filter((request) => request.body.includes(nonce));
  const delivered = (eventId: string) =>
    waitFor(() => deliveriesOf(eventId).length > 0, {
      what: `event ${eventId} at ${PATH}`,
      timeoutMs: 60_000,
    });
  /**
   * A fresh event published through `client` and waited for: events of one tenant share an input
   * partition and those of one endpoint a lane, so anything published before it has been
   * delivered by the time it is.
   */
  const barrier = async (client: ApiClient) => {
    const { id } = await client.ok<{ id: string }>('POST', '/v1/events', {
      type: 'idem.barrier',
      data: null,
    });
    await delivered(id);
  };

  it('answers a repeated event id with the first id, 200 and Idempotent-Replayed, and delivers it once', async () => {
    const body = { type: 'record.updated', data: { n: 1 }, id: `evt-${randomUUID()}` };
    const first = await publish(tenant.client, body);
    expect([first.status, first.body, first.headers.get(REPLAYED)]).toEqual([202, { id: body.id }, null]);
    const again = await publish(tenant.client, body);
    expect([again.status, again.body, again.headers.get(REPLAYED)]).toEqual([200, { id: body.id }, 'true']);
    await barrier(tenant.client);
    expect(deliveriesOf(body.id)).toHaveLength(1);
    expect(
      sampleOf(await scrape(stack!.service.url), 'hookstream_ingest_duplicates_total{answer="replayed"}'),
    ).toBe(1);
  });

  it('keys on the Idempotency-Key header: a repeat without an id gets the generated id back, published once', async () => {
    const nonce = randomUUID();
    const body = { type: 'record.updated', data: { nonce } };
    const first = await publish(tenant.client, body, `order-${nonce}`);
    expect(first.status).toBe(202);
    const again = await publish(tenant.client, body, `order-${nonce}`);
    expect([again.status, again.body.id, again.headers.get(REPLAYED)]).toEqual([200, first.body.id, 'true']);
    await barrier(tenant.client);
    expect(deliveriesWith(nonce).map((request) => request.headers['webhook-id'])).toEqual([first.body.id]);
  });

  it('refuses the same key with a different body (422) and publishes nothing for it', async () => {
    const key = `k-${randomUUID()}`;
    const [kept, refused] = [randomUUID(), randomUUID()];
    expect((await publish(tenant.client, { type: 'record.updated', data: { kept } }, key)).status).toBe(202);
    const other = await publish(tenant.client, { type: 'record.updated', data: { refused } }, key);
    expect(other.status).toBe(422);
    expect(other.body.error).toBe('idempotency_key_reused');
    expect(other.body.message).toContain('different request body');
    await barrier(tenant.client);
    expect(deliveriesWith(kept)).toHaveLength(1);
    expect(deliveriesWith(refused)).toHaveLength(0);
  });

  it('refuses an Idempotency-Key that is not 1 to 255 visible ASCII characters (400)', async () => {
    for (const key of ['has space', 'x'.repeat(256)]) {
      const answer = await publish(tenant.client, { type: 'record.updated', data: null }, key);
      expect([answer.status, answer.body.message]).toEqual([400, expect.stringContaining('Idempotency-Key')]);
    }
  });

  it('answers 409 with Retry-After while a claim is being published, and takes an abandoned claim over under its id', async () => {
    const nonce = randomUUID();
    const body = { type: 'record.updated', data: { nonce } };
    const key = `slow-${nonce}`;
    const claimedId = randomUUID();
    // Another request's claim, as a process that died between claiming and producing leaves it.
    await db.query(
      `INSERT INTO idempotency_keys (tenant_id, key, event_id, body_hash, state) VALUES ($1, $2, $3, $4, 'pending')`,
      [tenant.id, key, claimedId, requestFingerprint(body)],
    );
    const busy = await publish(tenant.client, body, key);
    expect([busy.status, busy.body.error, busy.headers.get('retry-after')]).toEqual([
      409,
      'idempotency_key_in_progress',
      '1',
    ]);
    await db.query(`UPDATE idempotency_keys SET updated_at = now() - interval '2 minutes' WHERE key = $1`, [
      key,
    ]);
    const taken = await publish(tenant.client, body, key);
    expect([taken.status, taken.body.id]).toEqual([202, claimedId]);
    await delivered(claimedId);
    expect(deliveriesWith(nonce)).toHaveLength(1);
  });

  it('still answers a duplicate as a duplicate after a restart, and delivers it once', async () => {
    const nonce = randomUUID();
    const byId = { type: 'record.updated', data: { nonce, by: 'id' }, id: `evt-${nonce}` };
    const byKey = { type: 'record.updated', data: { nonce, by: 'key' } };
    expect((await publish(tenant.client, byId)).status).toBe(202);
    const keyed = await publish(tenant.client, byKey, `restart-${nonce}`);
    expect(keyed.status).toBe(202);
    await delivered(byId.id);
    await delivered(keyed.body.id);

    // A new process on the same database and topics: its fan-out remembers no event id.
    const api = await stack!.boot('idem-restarted');
    const client = api.as(tenant.apiKey);
    const again = await publish(client, byId);
    expect([again.status, again.body.id, again.headers.get(REPLAYED)]).toEqual([200, byId.id, 'true']);
    const keyedAgain = await publish(client, byKey, `restart-${nonce}`);
    expect([keyedAgain.status, keyedAgain.body.id]).toEqual([200, keyed.body.id]);
    await barrier(client);
    expect(deliveriesOf(byId.id)).toHaveLength(1);
    expect(deliveriesWith(nonce)).toHaveLength(2);
  });

  it('publishes once when two instances get the same request at once', async () => {
    const second = (await stack!.bootReplica('idem-2')).as(tenant.apiKey);
    const first = stack!.api.as(tenant.apiKey);
    const nonce = randomUUID();
    const body = { type: 'record.updated', data: { nonce } };
    const key = `both-${nonce}`;
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => publish(i % 2 === 0 ? first : second, body, key)),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 202)).toHaveLength(1);
    expect(statuses.every((status) => [200, 202, 409].includes(status))).toBe(true);
    const eventId = answers.find((answer) => answer.status === 202)!.body.id;
    // Those told "in progress" retry, as a client would, and get the first answer.
    for (const [i, answer] of answers.entries()) {
      if (answer.status !== 409) continue;
      await waitFor(
        async () => {
          const retried = await publish(i % 2 === 0 ? first : second, body, key);
          return retried.status === 200 && retried.body.id === eventId;
        },
        { what: `the retry of an in-progress answer to replay ${eventId}` },
      );
    }
    expect(
      answers.filter((answer) => answer.status === 200).every((answer) => answer.body.id === eventId),
    ).toBe(true);
    // One after the other, through each instance.
    for (const client of [second, first]) {
      const again = await publish(client, body, key);
      expect([again.status, again.body.id]).toEqual([200, eventId]);
    }
    await barrier(first);
    expect(deliveriesWith(nonce).map((request) => request.headers['webhook-id'])).toEqual([eventId]);
  });

  it('accepts a key again once its window has passed, and sweeps expired keys away', async () => {
    const claimedBefore = await db.query<Array<{ count: string }>>(`SELECT count(*) FROM idempotency_keys`);
    expect(Number(claimedBefore[0].count)).toBeGreaterThan(0);
    const api = await stack!.boot('idem-short-window', { HOOKSTREAM_IDEMPOTENCY_WINDOW: '3s' });
    const client = api.as(tenant.apiKey);
    const nonce = randomUUID();
    const body = { type: 'record.updated', data: { nonce } };
    const key = `expiring-${nonce}`;
    const first = await publish(client, body, key);
    expect(first.status).toBe(202);
    const within = await publish(client, body, key);
    expect([within.status, within.body.id]).toEqual([200, first.body.id]);
    const accepted = await waitFor(
      async () => {
        const again = await publish(client, body, key);
        if (again.status !== 202 && (again.status !== 200 || again.body.id !== first.body.id)) {
          throw new GiveUp(
            `a repeat inside the window answered ${again.status} ${JSON.stringify(again.body)}`,
          );
        }
        return again.status === 202 ? again.body.id : null;
      },
      { what: `key ${key} accepted again after its 3 s window`, timeoutMs: 15_000, intervalMs: 250 },
    );
    expect(accepted).not.toBe(first.body.id);
    await delivered(accepted);
    expect(deliveriesWith(nonce).map((request) => request.headers['webhook-id'])).toEqual([
      first.body.id,
      accepted,
    ]);
    // Every key the earlier tests claimed is now older than the window: the sweep deletes them.
    await waitFor(
      async () => {
        const [{ count }] = await db.query<Array<{ count: string }>>(
          `SELECT count(*) FROM idempotency_keys WHERE created_at < now() - interval '4 seconds'`,
        );
        return count === '0';
      },
      { what: 'expired idempotency keys swept', timeoutMs: 20_000, intervalMs: 250 },
    );
  });
  it('answers 503 while PostgreSQL refuses connections, publishing nothing, and works again after', async () => {
    const client = stack!.api.as(tenant.apiKey);
    const nonce = randomUUID();
    const body = { type: 'record.updated', data: { nonce }, id: `evt-${nonce}` };
    // This test's database only (the server is shared): no new connections, the open ones ended.
    const admin = new Client({ connectionString: BASE_DATABASE_URL });
    await admin.connect();
    const setAllowed = (allowed: boolean) =>
      admin.query(`ALTER DATABASE ${stack!.database.name} ALLOW_CONNECTIONS ${allowed}`);
    try {
      await setAllowed(false);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [
        stack!.database.name,
      ]);
      const refused = await publish(client, body, `down-${nonce}`);
      expect([refused.status, refused.body.error]).toEqual([503, 'unavailable']);
    } finally {
      await setAllowed(true);
      await admin.end();
    }
    await waitFor(async () => (await publish(client, body)).status === 202, {
      what: 'POST /v1/events accepted again once PostgreSQL takes connections',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    await barrier(client);
    expect(deliveriesOf(body.id)).toHaveLength(1);
  });
});
