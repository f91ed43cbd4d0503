/**
 * Review findings F3 and F7: a read-only ops token (HOOKSTREAM_OPS_TOKEN) for what Prometheus and
 * dashboard viewers need, refused wherever a route acts, mints a link or reveals a secret; and
 * previous admin and ops tokens admitted beside the current ones, so either can rotate by a
 * rolling restart.
 */
import { randomUUID } from 'node:crypto';
import { ApiClient } from '../support/api';
import { startApp, type InProcessApp } from '../support/app';
import { ADMIN_TOKEN } from '../support/service';
import { controllerRoutes } from '../docs/repo-facts';

const OPS_TOKEN = 'test-ops-token-0123456789';
const PREVIOUS_OPS_TOKEN = 'test-previous-ops-token-0123';
const PREVIOUS_ADMIN_TOKEN = 'test-previous-admin-token-0123';

/** The operator routes the ops token reads: they change nothing and hold no secret. */
const READ_ONLY = [
  'GET /v1/ops/lag',
  'GET /v1/ops/cluster',
  'GET /v1/ops/summary',
  'GET /v1/ops/dead-letters',
];

describe('HOOKSTREAM_OPS_TOKEN with HOOKSTREAM_OPS_AUTH=admin (review F3, F7)', () => {
  let service: InProcessApp;
  let admin: ApiClient;
  let ops: ApiClient;
  let tenant: { id: string; apiKey: string; client: ApiClient };

  beforeAll(async () => {
    service = await startApp({
      HOOKSTREAM_OPS_AUTH: 'admin',
      HOOKSTREAM_OPS_TOKEN: OPS_TOKEN,
      HOOKSTREAM_OPS_TOKEN_PREVIOUS: PREVIOUS_OPS_TOKEN,
      HOOKSTREAM_ADMIN_TOKEN_PREVIOUS: PREVIOUS_ADMIN_TOKEN,
    });
    admin = new ApiClient(service.url, ADMIN_TOKEN);
    ops = admin.as(OPS_TOKEN);
    tenant = await admin.createTenant('Ops token');
    // A receiver whose URL path is its credential, as Slack's and Discord's are.
    await tenant.client.ok('POST', '/v1/endpoints', {
      url: 'http://127.0.0.1:9/services/T01/B02/path-secret',
    });
  });
  afterAll(() => service?.close());

  it('reads /metrics, /docs-json and the read-only /v1/ops routes with the ops token, current or previous', async () => {
    for (const token of [OPS_TOKEN, PREVIOUS_OPS_TOKEN]) {
      const metrics = await fetch(`${service.url}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^hookstream_in_flight_deliveries \d+$/m);
      const docs = await admin.as(token).request('GET', '/docs-json');
      expect(docs.status).toBe(200);
      for (const route of READ_ONLY) {
        const [method, path] = route.split(' ');
        expect({ route, status: (await admin.as(token).request(method, path)).status }).toEqual({
          route,
          status: 200,
        });
      }
    }
  });

  it('refuses the ops token 403 on every admin route but the read-only ones: no tenant, key, portal link, catalogue change or replay', async () => {
    const adminRoutes = controllerRoutes().filter((route) => route.auth === 'admin');
    const refused = adminRoutes.filter((route) => !READ_ONLY.includes(`${route.method} ${route.path}`));
    // The list is read from the controllers, so a route added later is checked too; these must be in it.
    expect(refused.map((route) => `${route.method} ${route.path}`)).toEqual(
      expect.arrayContaining([
        'POST /v1/tenants',
        'POST /v1/tenants/:param/portal-links',
        'POST /v1/tenants/:param/keys',
        'GET /v1/tenants/:param/keys',
        'POST /v1/ops/dead-letters/:param/replay',
        'PUT /v1/event-types/:param',
      ]),
    );
    expect(adminRoutes.length).toBe(refused.length + READ_ONLY.length);
    for (const route of refused) {
      const path = route.path.replace(/:param/g, () => randomUUID());
      const body = route.method === 'GET' ? undefined : { name: 'x', expiresInSeconds: 60 };
      const answer = await ops.request<{ error: string }>(route.method, path, body);
      expect({
        route: `${route.method} ${route.path}`,
        status: answer.status,
        error: answer.body.error,
      }).toEqual({
        route: `${route.method} ${route.path}`,
        status: 403,
        error: 'forbidden',
      });
    }
  });

  it('shows the ops token each endpoint URL cut to its origin, and the admin token the whole URL', async () => {
    type Summary = { endpoints: Array<{ id: string; url: string }> };
    // The summary lists at most 200 endpoints of the shared database, this test's among them or not:
    // compare the two views endpoint by endpoint.
    const full = new Map(
      (await admin.ok<Summary>('GET', '/v1/ops/summary')).endpoints.map((e) => [e.id, e.url]),
    );
    const seenByOps = (await ops.ok<Summary>('GET', '/v1/ops/summary')).endpoints;
    const compared = seenByOps.filter((endpoint) => full.has(endpoint.id));
    expect(compared.some((endpoint) => full.get(endpoint.id) !== endpoint.url)).toBe(true);
    for (const endpoint of compared) {
      expect({ id: endpoint.id, url: endpoint.url }).toEqual({
        id: endpoint.id,
        url: new URL(full.get(endpoint.id)!).origin,
      });
    }
  });

  it('keeps the admin token, current or previous, working everywhere it worked', async () => {
    for (const token of [ADMIN_TOKEN, PREVIOUS_ADMIN_TOKEN]) {
      const asAdmin = admin.as(token);
      expect(
        (await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(200);
      for (const route of READ_ONLY) {
        const [method, path] = route.split(' ');
        expect({ route, status: (await asAdmin.request(method, path)).status }).toEqual({
          route,
          status: 200,
        });
      }
      const created = await asAdmin.request<{ id: string }>('POST', '/v1/tenants', { name: 'By admin' });
      expect(created.status).toBe(201);
      const link = await asAdmin.request<{ url: string }>(
        'POST',
        `/v1/tenants/${created.body.id}/portal-links`,
        {},
      );
      expect(link.status).toBe(201);
      // An unknown dead letter: the guard admitted the replay, the handler found nothing.
      expect((await asAdmin.request('POST', `/v1/ops/dead-letters/${randomUUID()}/replay`)).status).toBe(404);
    }
  });

  it('still refuses an unknown token 401, on the ops surface and on the admin routes', async () => {
    const stranger = admin.as('not-an-operator-token-0123');
    expect(
      (await fetch(`${service.url}/metrics`, { headers: { authorization: 'Bearer not-a-token-at-all' } }))
        .status,
    ).toBe(401);
    expect((await stranger.request('GET', '/v1/ops/lag')).status).toBe(401);
    expect((await stranger.request('POST', '/v1/tenants', { name: 'x' })).status).toBe(401);
  });
});
