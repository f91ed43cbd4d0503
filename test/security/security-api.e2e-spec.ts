/** Issue 19 items 3-5: write-only header values, ops off the public port, brakes on guessing. */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { DataSource } from 'typeorm';
import { createLogger } from '../../src/common/logger';
import { createDataSource } from '../../src/database/data-source';
import { EndpointDirectory } from '../../src/endpoints/endpoint-directory';
import { OpsSurface } from '../../src/ops/ops-listener';
import { endpointCalls, type Tenant } from '../endpoints/endpoint-calls';
import { apiClient, startApp, type ApiCall, type InProcessApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { ADMIN_TOKEN } from '../support/service';
import { statusOfTarget } from '../support/sockets';

const AUTH_FAILURE_LIMIT = 20;

describe('security of the REST API (issue 19)', () => {
  let database: TestDatabase;
  let service: InProcessApp;
  let api: ApiCall;
  let opsUrl: string;
  let tenant: Tenant;
  const { newTenant, createEndpoint } = endpointCalls(() => api);

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startApp({
      DATABASE_URL: database.url,
      HOOKSTREAM_EGRESS_ALLOWLIST: '',
      OPS_PORT: '0',
      HOOKSTREAM_AUTH_FAILURE_LIMIT: String(AUTH_FAILURE_LIMIT),
    });
    const opsPort = await service.app.get(OpsSurface).listen(service.app);
    opsUrl = `http://127.0.0.1:${opsPort}`;
    api = apiClient(service.url);
    tenant = await newTenant('security');
  });

  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  it('shows a tenant no custom header value, stores none in plaintext, and still delivers it', async () => {
    const credential = `receiver-credential-${randomBytes(8).toString('hex')}`;
    const created = await createEndpoint(tenant, {
      headers: { 'X-Api-Key': credential, 'X-Team': 'billing' },
    });
    expect(created.headers).toEqual({ 'X-Api-Key': '***', 'X-Team': '***' });
    const read = await api('GET', `/v1/endpoints/${created.id}`, { token: tenant.apiKey });
    expect(read.body.headers).toEqual({ 'X-Api-Key': '***', 'X-Team': '***' });
    expect(JSON.stringify(read.body)).not.toContain(credential);

    const [row] = await service.app
      .get(DataSource)
      .query<Array<{ text: string }>>(`SELECT row_to_json(e)::text AS text FROM endpoints e WHERE id = $1`, [
        created.id,
      ]);
    expect(row.text).toContain('X-Api-Key');
    expect(row.text).not.toContain(credential);
    expect(row.text).not.toContain('billing');

    // PATCH: the mask keeps the stored value, a name left out is removed, a new value is set.
    const patched = await api('PATCH', `/v1/endpoints/${created.id}`, {
      token: tenant.apiKey,
      body: { headers: { 'X-Api-Key': '***', 'X-Region': 'eu' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.headers).toEqual({ 'X-Api-Key': '***', 'X-Region': '***' });
    const snapshot = await service.app.get(EndpointDirectory).findForCache(created.id);
    expect(snapshot?.headers).toEqual({ 'X-Api-Key': credential, 'X-Region': 'eu' });

    const refused = await api('PATCH', `/v1/endpoints/${created.id}`, {
      token: tenant.apiKey,
      body: { headers: { 'X-Unknown': '***' } },
    });
    expect(refused.status).toBe(400);
  });

  it("writes a failing query's log line without the values it was given", async () => {
    const credential = `receiver-credential-${randomBytes(8).toString('hex')}`;
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const dataSource = createDataSource(database.url, createLogger('info', sink));
    await dataSource.initialize();
    try {
      // PostgreSQL quotes the value in its message: "invalid input syntax for type uuid".
      await expect(dataSource.query('SELECT $1::uuid AS id', [credential])).rejects.toThrow();
    } finally {
      await dataSource.destroy();
    }
    const failures = lines.filter((line) => line.includes('query failed'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).not.toContain(credential);
    expect(JSON.parse(failures[0])).toMatchObject({ parameterCount: 1, error: { code: '22P02' } });
  });

  it('with OPS_PORT set, answers 404 for /metrics and /dashboard on the public port and serves them on its own', async () => {
    for (const path of ['/metrics', '/dashboard', '/docs', '/v1/ops/lag']) {
      expect({ path, status: (await fetch(`${service.url}${path}`)).status }).toEqual({ path, status: 404 });
    }
    expect((await fetch(`${opsUrl}/metrics`)).status).toBe(200);
    expect((await fetch(`${opsUrl}/dashboard`)).status).toBe(200);
    expect((await fetch(`${opsUrl}/v1/endpoints`)).status).toBe(404);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    // However the target spells it, what the router serves as /metrics stays off the public port.
    const host = new URL(service.url).host;
    for (const target of ['/%6Detrics', `http://${host}/metrics`, '/%64ocs-json']) {
      expect({ target, status: await statusOfTarget(service.url, target) }).toEqual({ target, status: 404 });
    }
    expect(await statusOfTarget(opsUrl, '/%6Detrics')).toBe(200);
    expect(await statusOfTarget(opsUrl, '/v1/%65ndpoints')).toBe(404);
  });

  it('keeps API answers out of caches, and the docs and dashboard out of frames', async () => {
    const created = await api('POST', '/v1/tenants', { token: ADMIN_TOKEN, body: { name: 'no-store' } });
    expect(created.status).toBe(201);
    for (const answer of [created, await api('GET', '/v1/endpoints', { token: tenant.apiKey })]) {
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    }
    for (const page of ['/docs', '/dashboard']) {
      const response = await fetch(`${opsUrl}${page}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  // Last: it puts this test's address over its limit for the rest of the window.
  it('answers 429 with Retry-After to a thousand wrong keys past the limit, looking up at most the limit', async () => {
    // A key this replica admitted a moment ago, and one it has never seen.
    expect((await api('GET', '/v1/endpoints', { token: tenant.apiKey })).status).toBe(200);
    const unseen = await newTenant('security-unseen');
    const lookupsBefore = await apiKeyLookups();
    const statuses = new Map<number, number>();
    let retryAfter: string | null = null;
    for (let batch = 0; batch < 20; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(`${service.url}/v1/endpoints`, {
            headers: { authorization: `Bearer hs_wrong-${batch}-${i}-${randomBytes(8).toString('hex')}` },
          }),
        ),
      );
      for (const response of responses) {
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 429) retryAfter = response.headers.get('retry-after');
      }
    }
    expect(Object.fromEntries(statuses)).toEqual({ 401: AUTH_FAILURE_LIMIT, 429: 1000 - AUTH_FAILURE_LIMIT });
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect((await apiKeyLookups()) - lookupsBefore).toBeLessThanOrEqual(AUTH_FAILURE_LIMIT);
    // A key not admitted lately waits too, from that address: past the limit nothing is looked up.
    expect((await api('GET', '/v1/endpoints', { token: unseen.apiKey })).status).toBe(429);
    // One admitted lately is known live without a lookup (decision 58): a guesser gains nothing by it.
    expect((await api('GET', '/v1/endpoints', { token: tenant.apiKey })).status).toBe(200);
    expect((await apiKeyLookups()) - lookupsBefore).toBeLessThanOrEqual(AUTH_FAILURE_LIMIT);
  });

  async function apiKeyLookups(): Promise<number> {
    const text = await (await fetch(`${opsUrl}/metrics`)).text();
    const match = /^hookstream_api_key_lookups_total (\d+)/m.exec(text);
    if (!match) throw new Error('hookstream_api_key_lookups_total is not in /metrics');
    return Number(match[1]);
  }
});
