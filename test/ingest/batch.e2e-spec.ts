import { randomUUID } from 'node:crypto';
import type { ApiClient } from '../support/api';
import { startStack, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

const PATH = '/batch';
/** Short, so a revocation made through another replica is seen within the test's patience. */
const KEY_CACHE_TTL_MS = 3_000;

interface BatchAnswer {
  accepted: number;
  rejected: number;
  results: Array<{ index: number; status: number; id?: string; error?: string; message?: string }>;
}

/**
 * Issue 21: `POST /v1/events/batch` answers each event by itself (a bad event refuses only itself),
 * deduplicates each by its id and counts each against the tenant's ingest rate; and the API key
 * cache lets a revoked key through another replica for at most HOOKSTREAM_API_KEY_CACHE_TTL.
 */
describe('POST /v1/events/batch, and the API key cache', () => {
  let stack: Stack | undefined;
  let tenant: { id: string; apiKey: string; client: ApiClient };

  beforeAll(async () => {
    stack = await startStack('batch', { HOOKSTREAM_API_KEY_CACHE_TTL: `${KEY_CACHE_TTL_MS}ms` });
    tenant = await stack.api.createTenant('batch');
    await tenant.client.ok('POST', '/v1/endpoints', { url: stack.receiver.url(PATH) });
  });

  afterAll(() => stopStack(stack));

  const publishBatch = (client: ApiClient, events: unknown[]) =>
    client.request<BatchAnswer>('POST', '/v1/events/batch', { events });
  const deliveredNonces = () => stack!.receiver.on(PATH).map((request) => request.body);

  it('publishes the good events of a mixed batch, refuses the bad ones by index, and delivers the good', async () => {
    const nonce = randomUUID();
    const events = [
      { type: 'record.updated', data: { nonce, n: 0 } },
      { type: 'bad type!', data: { nonce, n: 1 } },
      { type: 'record.updated', data: { nonce, n: 2 }, unknown: true },
      'not an object',
      { type: 'record.updated', data: { nonce, n: 4 } },
    ];
    const answer = await publishBatch(tenant.client, events);
    expect(answer.status).toBe(202);
    expect(answer.body.accepted).toBe(2);
    expect(answer.body.rejected).toBe(3);
    expect(answer.body.results.map((result) => [result.index, result.status, result.error])).toEqual([
      [0, 202, undefined],
      [1, 400, 'validation_failed'],
      [2, 400, 'validation_failed'],
      [3, 400, 'validation_failed'],
      [4, 202, undefined],
    ]);
    expect(answer.body.results[2].message).toMatch(/unknown should not exist/);
    await waitFor(() => deliveredNonces().filter((body) => body.includes(nonce)).length === 2, {
      what: 'the two good events of the batch at the receiver',
      timeoutMs: 60_000,
    });
    const delivered = deliveredNonces().filter((body) => body.includes(nonce));
    expect(delivered.some((body) => body.includes('"n":1'))).toBe(false);
  });

  it('deduplicates each event by its id: a repeat inside a batch and of an earlier batch is 200 with the first id', async () => {
    const id = `evt-${randomUUID()}`;
    const event = { type: 'record.updated', data: { once: id }, id };
    const first = await publishBatch(tenant.client, [event, { ...event, data: { other: true } }]);
    // The first occurrence is published; the second, the same id with another body, is refused.
    expect(first.body.results[0]).toMatchObject({ status: 202, id });
    expect(first.body.results[1]).toMatchObject({ status: 422, error: 'idempotency_key_reused' });
    const again = await publishBatch(tenant.client, [event]);
    expect(again.body.results[0]).toMatchObject({ status: 200, id });
    expect(again.body).toMatchObject({ accepted: 0, rejected: 0 });
    await waitFor(() => stack!.receiver.on(PATH).some((request) => request.headers['webhook-id'] === id), {
      what: `event ${id} at the receiver`,
      timeoutMs: 60_000,
    });
  });

  it('refuses an envelope that is not 1-500 events (400), and an Idempotency-Key header on a batch', async () => {
    expect((await publishBatch(tenant.client, [])).status).toBe(400);
    const tooMany = Array.from({ length: 501 }, () => ({ type: 'record.updated', data: null }));
    const refused = await publishBatch(tenant.client, tooMany);
    expect([refused.status, refused.body]).toMatchObject([
      400,
      { message: 'events must be an array of 1 to 500 events' },
    ]);
    const keyed = await tenant.client.request(
      'POST',
      '/v1/events/batch',
      { events: [{ type: 'record.updated', data: null }] },
      { 'idempotency-key': 'k-1' },
    );
    expect(keyed.status).toBe(400);
  });

  it("counts each event of a batch against the tenant's ingest rate, refusing the rest 429", async () => {
    const limited = (
      await stack!.bootReplica('batch-rate', {
        HOOKSTREAM_TENANT_INGEST_RATE: '1',
        HOOKSTREAM_TENANT_INGEST_BURST: '5',
      })
    ).as(tenant.apiKey);
    const events = Array.from({ length: 8 }, (_, n) => ({ type: 'record.updated', data: { n } }));
    const answer = await publishBatch(limited, events);
    expect(answer.status).toBe(202);
    expect(answer.body.accepted).toBe(5);
    expect(answer.body.results.filter((result) => result.status === 429)).toHaveLength(3);
  });

  it('stops a revoked key at once on the replica that revoked it, and within the cache TTL on another', async () => {
    const added = await stack!.api.ok<{ id: string; apiKey: string }>(
      'POST',
      `/v1/tenants/${tenant.id}/keys`,
    );
    const other = await stack!.bootReplica('batch-keys');
    const here = stack!.api.as(added.apiKey);
    const there = other.as(added.apiKey);
    const list = async (client: ApiClient) => (await client.request('GET', '/v1/endpoints')).status;
    // Both replicas have resolved (and cached) the key.
    expect([await list(here), await list(there)]).toEqual([200, 200]);

    const revokedAt = Date.now();
    await stack!.api.request('DELETE', `/v1/tenants/${tenant.id}/keys/${added.id}`);
    expect(await list(here)).toBe(401);
    await waitFor(async () => (await list(there)) === 401, {
      what: 'the revoked key refused by the other replica',
      timeoutMs: 30_000,
    });
    // Polls take time on a busy machine: allow a little past the TTL, far less than a second TTL.
    expect(Date.now() - revokedAt).toBeLessThan(KEY_CACHE_TTL_MS + 2_500);
  });
});
