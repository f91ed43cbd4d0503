import { randomUUID } from 'node:crypto';
import { waitForJob } from '../support/replay-jobs';
import { startStack, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { publishMany } from './publish';

/** Small chunks, so a job over a few thousand events runs for many chunks and can be caught running. */
const CHUNK = 10;

describe('replay jobs: one running per tenant, cancel, tenant scoping', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('replay-jobs', { HOOKSTREAM_REPLAY_CHUNK: String(CHUNK) });
  });
  afterAll(() => stopStack(stack));

  it('runs one job per tenant at a time, cancels a queued job at once and a running one between chunks', async () => {
    const { api, receiver, producer, inputTopic } = stack;
    const tenant = await api.createTenant('Cancel');
    const since = new Date(Date.now() - 1000).toISOString();
    // Published before the endpoint exists: only the replay delivers them.
    const ids = await publishMany(producer, inputTopic, tenant.id, 10_000);
    const endpoint = await tenant.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/cancel'),
      maxConcurrency: 16,
    });
    const replay = () => tenant.client.ok('POST', `/v1/endpoints/${endpoint.id}/replay`, { since });

    const big = await replay();
    const waiting = await replay();
    const dropped = await replay();
    const running = await waitFor(
      async () => {
        const job = await tenant.client.ok('GET', `/v1/replay-jobs/${big.id}`);
        return job.state === 'running' && job.counts.replayed > 0 ? job : null;
      },
      { timeoutMs: 60_000, what: 'the first job to run and replay a first chunk' },
    );
    expect(running.progress).toBeGreaterThan(0);
    // The tenant's other jobs wait while one runs, whatever the runner's spare slots.
    expect((await tenant.client.ok('GET', `/v1/replay-jobs/${waiting.id}`)).state).toBe('queued');

    const cancelledQueued = await tenant.client.request('POST', `/v1/replay-jobs/${dropped.id}/cancel`);
    expect(cancelledQueued).toMatchObject({
      status: 200,
      body: { state: 'cancelled', cancelRequested: true },
    });
    expect(cancelledQueued.body.counts).toEqual({ read: 0, matched: 0, replayed: 0 });

    const cancelRunning = await tenant.client.request('POST', `/v1/replay-jobs/${big.id}/cancel`);
    expect(cancelRunning.status).toBe(200);
    expect(cancelRunning.body.cancelRequested).toBe(true);
    const cancelled = await waitForJob(tenant.client, big.id, 'cancelled');
    expect(cancelled.finishedAt).not.toBeNull();
    expect(cancelled.counts.replayed).toBeLessThan(ids.length);
    // Cancelling again answers the same; cancelling the cancelled queued job too.
    expect((await tenant.client.request('POST', `/v1/replay-jobs/${big.id}/cancel`)).status).toBe(200);

    // The next job of the tenant runs once the first stopped, to the end of its window.
    const second = await waitForJob(tenant.client, waiting.id, 'succeeded', 150_000);
    expect(second.counts.replayed).toBe(ids.length);
    expect(second.progress).toBe(1);
    const finished = await tenant.client.request('POST', `/v1/replay-jobs/${waiting.id}/cancel`);
    expect(finished.status).toBe(409);
    // The job cancelled while queued never ran.
    const never = await tenant.client.ok('GET', `/v1/replay-jobs/${dropped.id}`);
    expect(never).toMatchObject({ state: 'cancelled', startedAt: null, runs: 0 });

    // What reached the receiver is what the two jobs said they replayed: nothing after the cancel.
    const expected = cancelled.counts.replayed + second.counts.replayed;
    await waitFor(() => receiver.on('/cancel').length >= expected, {
      timeoutMs: 150_000,
      intervalMs: 500,
      what: () => `${expected} deliveries (got ${receiver.on('/cancel').length})`,
    });
    const delivered = new Set(receiver.on('/cancel').map((request) => request.headers['webhook-id']));
    expect(ids.filter((id) => !delivered.has(id))).toEqual([]);
  }, 400_000);

  it("lists a tenant's jobs newest first with a cursor, and answers 404 for another tenant's", async () => {
    const { api, receiver } = stack;
    const owner = await api.createTenant('Owner of jobs');
    const other = await api.createTenant('Another tenant');
    const endpoint = await owner.client.ok('POST', '/v1/endpoints', { url: receiver.url('/owned-jobs') });
    const since = new Date(Date.now() - 1000).toISOString();
    const created = [];
    for (let i = 0; i < 3; i++) {
      created.push(await owner.client.ok('POST', `/v1/endpoints/${endpoint.id}/replay`, { since }));
    }
    const first = await owner.client.ok('GET', '/v1/replay-jobs?limit=2');
    expect(first.data.map((job: any) => job.id)).toEqual([created[2].id, created[1].id]);
    const rest = await owner.client.ok('GET', `/v1/replay-jobs?limit=2&cursor=${first.nextCursor}`);
    expect(rest).toEqual({ data: [expect.objectContaining({ id: created[0].id })], nextCursor: null });
    expect((await owner.client.request('GET', '/v1/replay-jobs?cursor=nonsense')).status).toBe(400);

    expect(await other.client.ok('GET', '/v1/replay-jobs')).toEqual({ data: [], nextCursor: null });
    for (const [method, path] of [
      ['GET', `/v1/replay-jobs/${created[0].id}`],
      ['POST', `/v1/replay-jobs/${created[0].id}/cancel`],
      ['GET', `/v1/replay-jobs/${randomUUID()}`],
      ['GET', '/v1/replay-jobs/not-a-uuid'],
      ['POST', `/v1/endpoints/${endpoint.id}/replay`],
    ]) {
      const body = method === 'POST' ? { since } : undefined;
      const response = await other.client.request(method, path, body);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
    }
    // The other tenant's cancel changed nothing.
    for (const job of created) await waitForJob(owner.client, job.id, 'succeeded');
  });
});
