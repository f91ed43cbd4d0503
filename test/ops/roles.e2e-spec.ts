import type { ApiClient } from '../support/api';
import { startStack, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

const PARTITIONS = 3;
const ALL_PARTITIONS = Array.from({ length: PARTITIONS }, (_, i) => i).join();

interface ClusterView {
  answeredBy: string;
  replicas: Array<{ id: string; roles: string[]; live: boolean; partitions: number[] }>;
}

/**
 * HOOKSTREAM_ROLES decides what a replica serves: without `api` the REST API and its docs are not
 * there (404), as if the replica were not behind the API's load balancer, while what operators
 * and probes use (health, metrics, the ops API, the dashboard) is served by every replica.
 */
describe('ops: the api role decides who serves the REST API', () => {
  let stack: Stack | undefined;
  let full: ApiClient;
  let worker: ApiClient;
  let apiOnly: ApiClient;
  let tenant: { id: string; apiKey: string };

  beforeAll(async () => {
    stack = await startStack('roles', { HOOKSTREAM_DELIVERY_PARTITIONS: String(PARTITIONS) });
    full = stack.api;
    worker = await stack.bootReplica('roles-worker', { HOOKSTREAM_ROLES: 'fanout,delivery' });
    apiOnly = await stack.bootReplica('roles-api', { HOOKSTREAM_ROLES: 'api' });
    tenant = await full.createTenant('Roles');
  });
  afterAll(() => stopStack(stack));

  const status = async (url: string) => (await fetch(url)).status;

  it('answers 404 for the REST API and its docs on a replica without the api role, and serves health, metrics and the ops API', async () => {
    const asTenant = worker.as(tenant.apiKey);
    const refused = [
      await asTenant.request<{ message: string }>('GET', '/v1/endpoints'),
      await asTenant.request<{ message: string }>('POST', '/v1/events', { type: 'record.updated', data: {} }),
      await worker.request<{ message: string }>('POST', '/v1/tenants', { name: 'not here' }),
    ];
    for (const response of refused) {
      expect(response.status).toBe(404);
      expect(response.body.message).toMatch(/does not serve the REST API/);
    }
    expect(await status(`${worker.baseUrl}/docs`)).toBe(404);
    expect(await status(`${worker.baseUrl}/docs-json`)).toBe(404);

    for (const path of ['/healthz', '/readyz', '/metrics', '/dashboard']) {
      expect([path, await status(`${worker.baseUrl}${path}`)]).toEqual([path, 200]);
    }
    const cluster = await worker.ok<ClusterView>('GET', '/v1/ops/cluster');
    expect(cluster.replicas.find((row) => row.id === cluster.answeredBy)?.roles.sort()).toEqual([
      'delivery',
      'fanout',
    ]);
    // The ops API keeps its own guard: the admin token.
    expect((await worker.as('not-the-admin-token').request('GET', '/v1/ops/cluster')).status).toBe(401);

    // The replica with every role serves the REST API and its docs.
    expect((await full.as(tenant.apiKey).request('GET', '/v1/endpoints')).status).toBe(200);
    expect(await status(`${full.baseUrl}/docs`)).toBe(200);
  });

  it('serves the REST API from a replica with only the api role, which owns no delivery partitions', async () => {
    const asTenant = apiOnly.as(tenant.apiKey);
    const endpoint = await asTenant.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: stack!.receiver.url('/roles'),
    });
    const listed = await asTenant.ok<{ data: Array<{ id: string }> }>('GET', '/v1/endpoints');
    expect(listed.data.map((item) => item.id)).toContain(endpoint.id);
    expect(await status(`${apiOnly.baseUrl}/docs`)).toBe(200);
    // Accepted by the api replica, fanned out and delivered by the others.
    const event = await asTenant.ok<{ id: string }>('POST', '/v1/events', {
      type: 'record.updated',
      data: {},
    });
    await waitFor(() => stack!.receiver.on('/roles').some((r) => r.headers['webhook-id'] === event.id), {
      what: 'the event accepted by the api-only replica at the receiver',
    });

    let seen: ClusterView | undefined;
    const view = await waitFor(
      async () => {
        seen = await apiOnly.ok<ClusterView>('GET', '/v1/ops/cluster');
        const owned = seen.replicas.flatMap((row) => (row.live ? row.partitions : [])).sort((a, b) => a - b);
        return seen.replicas.filter((row) => row.live).length === 3 && owned.join() === ALL_PARTITIONS
          ? seen
          : undefined;
      },
      {
        what: () =>
          `three live replicas, the delivery partitions owned once each (last seen ${JSON.stringify(seen)})`,
        timeoutMs: 60_000,
      },
    );
    const self = view.replicas.find((row) => row.id === view.answeredBy);
    expect(self).toMatchObject({ roles: ['api'], live: true, partitions: [] });
  });
});
