import { createTestDatabase, type TestDatabase } from '../support/database';
import { apiClient, startApp, type ApiCall, type InProcessApp } from '../support/app';
import { ADMIN_TOKEN } from '../support/service';
import { EndpointDirectory } from '../../src/endpoints/endpoint-directory';
import { ENDPOINT_HEALTH_VIEW, type SwitchableEndpointHealthView } from '../../src/endpoints/endpoint-health';
import { isValidSecret } from '../../src/endpoints/secrets/secret-cipher';

const PUBLIC_URL = 'https://93.184.215.14/hooks';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

interface Tenant {
  id: string;
  apiKey: string;
}

describe('endpoints API (real PostgreSQL, loopback not allowlisted)', () => {
  let database: TestDatabase;
  let service: InProcessApp;
  let api: ApiCall;
  let tenantA: Tenant;
  let tenantB: Tenant;

  const newTenant = async (name: string): Promise<Tenant> => {
    const response = await api('POST', '/v1/tenants', { token: ADMIN_TOKEN, body: { name } });
    expect(response.status).toBe(201);
    return response.body;
  };
  const createEndpoint = async (tenant: Tenant, body: Record<string, unknown> = {}) => {
    const response = await api('POST', '/v1/endpoints', {
      token: tenant.apiKey,
      body: { url: PUBLIC_URL, ...body },
    });
    expect(response.status).toBe(201);
    return response.body;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startApp({ DATABASE_URL: database.url, HOOKSTREAM_EGRESS_ALLOWLIST: '' });
    api = apiClient(service.url);
    tenantA = await newTenant('A');
    tenantB = await newTenant('B');
  });

  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  describe('CRUD', () => {
    it('creates an endpoint with defaults and never returns its secret', async () => {
      const response = await api('POST', '/v1/endpoints', {
        token: tenantA.apiKey,
        body: { url: PUBLIC_URL },
      });
      expect(response.status).toBe(201);
      expect(response.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        url: PUBLIC_URL,
        description: null,
        eventTypes: ['*'],
        ordering: 'none',
        enabled: true,
        disabledReason: null,
        circuitState: 'closed',
        failureCount: 0,
        headers: {},
        maxConcurrency: 1,
        metadata: {},
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
    });

    it('creates, reads, updates and deletes an endpoint with every field', async () => {
      const body = {
        url: 'https://93.184.215.14:8443/a/b?c=d',
        description: 'orders feed',
        eventTypes: ['record.updated', 'status.*'],
        ordering: 'none',
        enabled: true,
        headers: { 'X-Api-Key': 'abc', Authorization: 'Bearer receiver-token' },
        maxConcurrency: 25,
        metadata: { team: 'billing' },
      };
      const created = await createEndpoint(tenantA, body);
      expect(created).toMatchObject({ ...body });

      const read = await api('GET', `/v1/endpoints/${created.id}`, { token: tenantA.apiKey });
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created);

      const patched = await api('PATCH', `/v1/endpoints/${created.id}`, {
        token: tenantA.apiKey,
        body: {
          description: null,
          eventTypes: ['*'],
          headers: {},
          metadata: { team: 'core' },
          maxConcurrency: 3,
        },
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({
        id: created.id,
        url: body.url,
        description: null,
        eventTypes: ['*'],
        headers: {},
        metadata: { team: 'core' },
        maxConcurrency: 3,
        createdAt: created.createdAt,
      });
      expect(Date.parse(patched.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));

      const moved = await api('PATCH', `/v1/endpoints/${created.id}`, {
        token: tenantA.apiKey,
        body: { url: 'https://93.184.215.15/new' },
      });
      expect(moved.body.url).toBe('https://93.184.215.15/new');

      expect((await api('DELETE', `/v1/endpoints/${created.id}`, { token: tenantA.apiKey })).status).toBe(
        204,
      );
      expect((await api('GET', `/v1/endpoints/${created.id}`, { token: tenantA.apiKey })).status).toBe(404);
      expect((await api('DELETE', `/v1/endpoints/${created.id}`, { token: tenantA.apiKey })).status).toBe(
        404,
      );
      expect((await api('GET', '/v1/endpoints/not-a-uuid', { token: tenantA.apiKey })).status).toBe(404);
    });

    it('forces maxConcurrency to 1 for strict ordering', async () => {
      const strict = await createEndpoint(tenantA, { ordering: 'strict', maxConcurrency: 50 });
      expect(strict).toMatchObject({ ordering: 'strict', maxConcurrency: 1 });
      const none = await createEndpoint(tenantA);
      const patched = await api('PATCH', `/v1/endpoints/${none.id}`, {
        token: tenantA.apiKey,
        body: { ordering: 'strict' },
      });
      expect(patched.body).toMatchObject({ ordering: 'strict', maxConcurrency: 1 });
    });

    it('shows why delivery disabled an endpoint, and PATCH enabled:true clears it', async () => {
      const endpoint = await createEndpoint(tenantA);
      const directory = service.app.get(EndpointDirectory);
      expect(await directory.disable(endpoint.id, 'endpoint answered 410 Gone')).toBe(true);
      expect(await directory.disable(endpoint.id, 'second reason')).toBe(false);

      const disabled = await api('GET', `/v1/endpoints/${endpoint.id}`, { token: tenantA.apiKey });
      expect(disabled.body).toMatchObject({ enabled: false, disabledReason: 'endpoint answered 410 Gone' });

      const enabled = await api('PATCH', `/v1/endpoints/${endpoint.id}`, {
        token: tenantA.apiKey,
        body: { enabled: true },
      });
      expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null });
      const ds = await database.connect();
      const [row] = await ds.query('SELECT disabled_at, disabled_reason FROM endpoints WHERE id = $1', [
        endpoint.id,
      ]);
      expect(row).toEqual({ disabled_at: null, disabled_reason: null });

      const byClient = await api('PATCH', `/v1/endpoints/${endpoint.id}`, {
        token: tenantA.apiKey,
        body: { enabled: false },
      });
      expect(byClient.body).toMatchObject({ enabled: false, disabledReason: 'disabled by the client' });
    });

    it('reports the circuit state the delivery engine attaches', async () => {
      const endpoint = await createEndpoint(tenantA);
      const view = service.app.get<SwitchableEndpointHealthView>(ENDPOINT_HEALTH_VIEW);
      view.attach({
        healthOf: (id) => ({ circuitState: id === endpoint.id ? 'open' : 'closed', failureCount: 7 }),
      });
      try {
        const read = await api('GET', `/v1/endpoints/${endpoint.id}`, { token: tenantA.apiKey });
        expect(read.body).toMatchObject({ circuitState: 'open', failureCount: 7 });
      } finally {
        view.attach(null);
      }
    });

    it('gives the delivery cache a snapshot with decrypted active secrets', async () => {
      const endpoint = await createEndpoint(tenantA, { eventTypes: ['record.*'], headers: { 'X-A': '1' } });
      const { body: secret } = await api('GET', `/v1/endpoints/${endpoint.id}/secret`, {
        token: tenantA.apiKey,
      });
      const directory = service.app.get(EndpointDirectory);
      const snapshot = await directory.findForCache(endpoint.id);
      expect(snapshot).toEqual({
        id: endpoint.id,
        tenantId: tenantA.id,
        url: PUBLIC_URL,
        eventTypes: ['record.*'],
        ordering: 'none',
        enabled: true,
        headers: { 'X-A': '1' },
        maxConcurrency: 1,
        secrets: [secret.key],
        secretExpiries: [null],
      });
      expect(await directory.findForCache(UNKNOWN_ID)).toBeNull();
      const all = await directory.listAllForCache();
      expect(all.map((s) => s.id)).toContain(endpoint.id);
      expect(new Set(all.map((s) => s.tenantId))).toContain(tenantA.id);
    });
  });

  describe('pagination', () => {
    it('walks 25 endpoints in pages with no duplicate or missing one', async () => {
      const tenant = await newTenant('paged');
      const created: string[] = [];
      for (let i = 0; i < 25; i++) created.push((await createEndpoint(tenant, { description: `#${i}` })).id);

      const seen: string[] = [];
      const pageSizes: number[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `?limit=10&cursor=${cursor}` : '?limit=10';
        const page = await api('GET', `/v1/endpoints${query}`, { token: tenant.apiKey });
        expect(page.status).toBe(200);
        pageSizes.push(page.body.data.length);
        seen.push(...page.body.data.map((e: { id: string }) => e.id));
        cursor = page.body.nextCursor;
      } while (cursor !== null);

      expect(pageSizes).toEqual([10, 10, 5]);
      expect(seen).toEqual(created);

      const defaultPage = await api('GET', '/v1/endpoints', { token: tenant.apiKey });
      expect(defaultPage.body.data).toHaveLength(20);
      expect(defaultPage.body.nextCursor).toEqual(expect.any(String));

      const exact = await api('GET', '/v1/endpoints?limit=25', { token: tenant.apiKey });
      expect(exact.body.data).toHaveLength(25);
      expect(exact.body.nextCursor).toBeNull();
    });

    it.each([
      ['limit=0', /limit must be between 1 and 100/],
      ['limit=101', /limit must be between 1 and 100/],
      ['limit=abc', /limit must be a whole number/],
      ['cursor=garbage', /cursor is not valid/],
      ['offset=3', /property offset should not exist/],
    ])('refuses ?%s', async (query, problem) => {
      const response = await api('GET', `/v1/endpoints?${query}`, { token: tenantA.apiKey });
      expect(response.status).toBe(400);
      expect(response.body.details.join('\n')).toMatch(problem);
    });
  });

  describe('validation matrix', () => {
    const many = (n: number, value: (i: number) => string) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-k${i}`, value(i)]));

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['missing url', { url: undefined }, /url must be a string/],
      ['non-string url', { url: 42 }, /url must be a string/],
      ['ftp url', { url: 'ftp://93.184.215.14/' }, /scheme must be http or https/],
      ['relative url', { url: '/hooks' }, /absolute http or https URL/],
      ['credentials in url', { url: 'https://user:pw@93.184.215.14/' }, /must not contain credentials/],
      ['url over 2048 characters', { url: `${PUBLIC_URL}/${'a'.repeat(2048)}` }, /at most 2048 characters/],
      [
        'description over 500',
        { description: 'x'.repeat(501) },
        /description must be at most 500 characters/,
      ],
      ['eventTypes not an array', { eventTypes: 'record.*' }, /eventTypes must be an array/],
      ['empty eventTypes', { eventTypes: [] }, /eventTypes must not be empty/],
      ['bad wildcard', { eventTypes: ['*.updated'] }, /eventTypes entry "\*\.updated" must be an exact type/],
      ['bad event name', { eventTypes: ['record..x'] }, /must be an exact type like "record.updated"/],
      [
        '101 eventTypes',
        { eventTypes: Array.from({ length: 101 }, (_, i) => `t${i}`) },
        /at most 100 entries/,
      ],
      ['unknown ordering', { ordering: 'fifo' }, /ordering must be "none" or "strict"/],
      ['null ordering', { ordering: null }, /ordering must be "none" or "strict"/],
      ['non-boolean enabled', { enabled: 'yes' }, /enabled must be true or false/],
      ['maxConcurrency 0', { maxConcurrency: 0 }, /maxConcurrency must be between 1 and 100/],
      ['maxConcurrency 101', { maxConcurrency: 101 }, /maxConcurrency must be between 1 and 100/],
      ['fractional maxConcurrency', { maxConcurrency: 1.5 }, /maxConcurrency must be a whole number/],
      ['hop-by-hop header', { headers: { Connection: 'close' } }, /"Connection" is hop-by-hop/],
      ['host header', { headers: { Host: 'evil.test' } }, /"Host" is hop-by-hop or set by Hookstream/],
      ['content-type header', { headers: { 'content-type': 'text/plain' } }, /"content-type" is hop-by-hop/],
      ['proxy header', { headers: { 'Proxy-Authorization': 'x' } }, /"Proxy-Authorization" is hop-by-hop/],
      [
        'webhook-* header',
        { headers: { 'webhook-signature': 'v1,x' } },
        /webhook-\* headers carry the Standard/,
      ],
      ['non-string header value', { headers: { 'x-a': 1 } }, /header "x-a" value must be a string/],
      ['header injection', { headers: { 'x-a': 'a\r\nx-b: c' } }, /without CR, LF or NUL/],
      ['21 headers', { headers: many(21, () => 'v') }, /headers must have at most 20 entries/],
      ['headers array', { headers: ['x'] }, /headers must be an object/],
      ['51 metadata keys', { metadata: many(51, () => 'v') }, /metadata must have at most 50 keys/],
      ['non-string metadata', { metadata: { a: 1 } }, /metadata "a" must be a string/],
      [
        'invalid secret',
        { secret: 'not-a-secret' },
        /secret must be "whsec_" followed by base64 of 24 to 64/,
      ],
      [
        'short secret',
        { secret: `whsec_${Buffer.alloc(16, 1).toString('base64')}` },
        /24 to 64 random bytes/,
      ],
      ['unknown field', { colour: 'blue' }, /property colour should not exist/],
    ])('refuses %s on create', async (_label, override, problem) => {
      const body = { url: PUBLIC_URL, ...override };
      const response = await api('POST', '/v1/endpoints', { token: tenantA.apiKey, body });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        statusCode: 400,
        error: expect.stringMatching(/^(bad_request|validation_failed)$/),
        message: expect.any(String),
        details: expect.any(Array),
        correlationId: expect.any(String),
      });
      expect(response.body.details.join('\n')).toMatch(problem);
    });

    it('lists every problem at once', async () => {
      const response = await api('POST', '/v1/endpoints', {
        token: tenantA.apiKey,
        body: { url: PUBLIC_URL, ordering: 'fifo', maxConcurrency: 0, headers: { te: 'x' } },
      });
      expect(response.status).toBe(400);
      expect(response.body.message).toBe('validation failed');
      expect(response.body.details).toHaveLength(3);
    });

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['null url', { url: null }, /url must be a string/],
      ['private url', { url: 'http://10.0.0.1/' }, /private address 10\.0\.0\.1/],
      ['null eventTypes', { eventTypes: null }, /eventTypes must be an array/],
      ['null enabled', { enabled: null }, /enabled must be true or false/],
      ['webhook-* header', { headers: { 'Webhook-Id': 'x' } }, /webhook-\* headers/],
      ['a secret', { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, /property secret should not exist/],
    ])('refuses %s on update', async (_label, body, problem) => {
      const endpoint = await createEndpoint(tenantA);
      const response = await api('PATCH', `/v1/endpoints/${endpoint.id}`, { token: tenantA.apiKey, body });
      expect(response.status).toBe(400);
      expect(response.body.details.join('\n')).toMatch(problem);
    });

    it('accepts every documented eventTypes form', async () => {
      const endpoint = await createEndpoint(tenantA, {
        eventTypes: ['*', 'record.*', 'record.updated', 'transaction.processed', 'a_b-c.d'],
      });
      expect(endpoint.eventTypes).toEqual([
        '*',
        'record.*',
        'record.updated',
        'transaction.processed',
        'a_b-c.d',
      ]);
    });
  });

  describe('SSRF refusals (no traffic is sent)', () => {
    it.each([
      ['http://10.0.0.1/hook', /private address 10\.0\.0\.1/],
      [
        'http://169.254.169.254/latest/meta-data/',
        /link-local \(cloud metadata\) address 169\.254\.169\.254/,
      ],
      ['http://100.64.0.1/', /carrier-grade NAT/],
      ['http://[::ffff:10.0.0.1]/', /IPv4-mapped \(10\.0\.0\.1\)/],
      ['http://[64:ff9b::a00:1]/', /NAT64 \(embeds 10\.0\.0\.1\)/],
      ['http://0x7f.1/', /loopback address 127\.0\.0\.1/],
      ['http://2130706433/', /loopback address 127\.0\.0\.1/],
      ['http://017700000001/', /loopback address 127\.0\.0\.1/],
      ['http://127.1:8080/', /loopback address 127\.0\.0\.1/],
      ['http://127.0.0.1/', /loopback address 127\.0\.0\.1/],
      ['http://[::1]/', /loopback address ::1/],
      ['http://[fd00::1]/', /unique-local/],
      ['http://224.0.0.1/', /multicast/],
      ['http://0.0.0.0/', /unspecified/],
      ['http://192.0.2.10/', /reserved or documentation/],
    ])('refuses %s with 400', async (url, reason) => {
      const response = await api('POST', '/v1/endpoints', { token: tenantA.apiKey, body: { url } });
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('validation_failed');
      expect(response.body.message).toMatch(/^url is not allowed: /);
      expect(response.body.details.join('\n')).toMatch(reason);
    });
  });

  describe('secrets', () => {
    it('generates a Standard Webhooks secret and encrypts it at rest', async () => {
      const endpoint = await createEndpoint(tenantA);
      const response = await api('GET', `/v1/endpoints/${endpoint.id}/secret`, { token: tenantA.apiKey });
      expect(response.status).toBe(200);
      expect(isValidSecret(response.body.key)).toBe(true);
      expect(Buffer.from(response.body.key.slice(6), 'base64')).toHaveLength(32);

      const ds = await database.connect();
      const [row] = await ds.query(
        'SELECT row_to_json(endpoints)::text AS raw FROM endpoints WHERE id = $1',
        [endpoint.id],
      );
      expect(row.raw).not.toContain(response.body.key.slice(6));
      expect(row.raw).not.toContain(response.body.key.slice(6, 20));
      expect(JSON.stringify(endpoint)).not.toContain('whsec_');
    });

    it('keeps a secret the client supplies', async () => {
      const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
      const endpoint = await createEndpoint(tenantA, { secret });
      expect(endpoint).not.toHaveProperty('secret');
      const response = await api('GET', `/v1/endpoints/${endpoint.id}/secret`, { token: tenantA.apiKey });
      expect(response.body).toEqual({ key: secret });
    });

    it('rotates: the old secret keeps signing beside the new one until the grace period ends', async () => {
      const endpoint = await createEndpoint(tenantA);
      const directory = service.app.get(EndpointDirectory);
      const { body: before } = await api('GET', `/v1/endpoints/${endpoint.id}/secret`, {
        token: tenantA.apiKey,
      });

      const startedAt = Date.now();
      const rotated = await api('POST', `/v1/endpoints/${endpoint.id}/secret/rotate`, {
        token: tenantA.apiKey,
        body: { gracePeriodSeconds: 3600 },
      });
      expect(rotated.status).toBe(200);
      expect(isValidSecret(rotated.body.key)).toBe(true);
      expect(rotated.body.key).not.toBe(before.key);
      const { body: after } = await api('GET', `/v1/endpoints/${endpoint.id}/secret`, {
        token: tenantA.apiKey,
      });
      expect(after.key).toBe(rotated.body.key);

      const snapshot = await directory.findForCache(endpoint.id);
      expect(snapshot?.secrets).toEqual([rotated.body.key, before.key]);
      expect(snapshot?.secretExpiries[0]).toBeNull();
      const oldExpiry = Date.parse(snapshot?.secretExpiries[1] ?? '');
      expect(oldExpiry).toBeGreaterThanOrEqual(startedAt + 3600_000 - 1000);
      expect(oldExpiry).toBeLessThanOrEqual(Date.now() + 3600_000);

      // After the grace period only the new secret is active.
      const later = await directory.findForCache(endpoint.id, new Date(oldExpiry + 1));
      expect(later?.secrets).toEqual([rotated.body.key]);

      // The default grace period is a day; a third rotation keeps the first secret's earlier expiry.
      const third = await api('POST', `/v1/endpoints/${endpoint.id}/secret/rotate`, {
        token: tenantA.apiKey,
      });
      expect(third.status).toBe(200);
      const three = await directory.findForCache(endpoint.id);
      expect(three?.secrets).toEqual([third.body.key, rotated.body.key, before.key]);
      expect(Date.parse(three?.secretExpiries[1] ?? '')).toBeGreaterThanOrEqual(
        startedAt + 86_400_000 - 1000,
      );
      expect(Date.parse(three?.secretExpiries[2] ?? '')).toBe(oldExpiry);

      // A zero grace period drops every previous secret at once.
      const hard = await api('POST', `/v1/endpoints/${endpoint.id}/secret/rotate`, {
        token: tenantA.apiKey,
        body: { gracePeriodSeconds: 0 },
      });
      expect((await directory.findForCache(endpoint.id))?.secrets).toEqual([hard.body.key]);
      const ds = await database.connect();
      const [row] = await ds.query('SELECT jsonb_array_length(secrets) AS n FROM endpoints WHERE id = $1', [
        endpoint.id,
      ]);
      expect(row.n).toBe(1);
    });

    it.each([
      [{ gracePeriodSeconds: -1 }, /gracePeriodSeconds must be between 0 and 604800/],
      [{ gracePeriodSeconds: 604801 }, /gracePeriodSeconds must be between 0 and 604800/],
      [{ gracePeriodSeconds: 'soon' }, /gracePeriodSeconds must be a whole number/],
      [{ grace: 10 }, /property grace should not exist/],
    ])('refuses rotation with %p', async (body, problem) => {
      const endpoint = await createEndpoint(tenantA);
      const response = await api('POST', `/v1/endpoints/${endpoint.id}/secret/rotate`, {
        token: tenantA.apiKey,
        body,
      });
      expect(response.status).toBe(400);
      expect(response.body.details.join('\n')).toMatch(problem);
    });
  });

  describe('tenant isolation and authentication', () => {
    const routes = (id: string): Array<[string, string, unknown?]> => [
      ['GET', `/v1/endpoints/${id}`],
      ['PATCH', `/v1/endpoints/${id}`, { description: 'taken over' }],
      ['DELETE', `/v1/endpoints/${id}`],
      ['GET', `/v1/endpoints/${id}/secret`],
      ['POST', `/v1/endpoints/${id}/secret/rotate`, { gracePeriodSeconds: 0 }],
    ];

    it("answers 404 on every route for another tenant's endpoint and leaves it untouched", async () => {
      const endpoint = await createEndpoint(tenantA, { description: 'mine' });
      const { body: secret } = await api('GET', `/v1/endpoints/${endpoint.id}/secret`, {
        token: tenantA.apiKey,
      });
      for (const [method, path, body] of routes(endpoint.id)) {
        const response = await api(method, path, { token: tenantB.apiKey, body });
        expect({ method, path, status: response.status }).toEqual({ method, path, status: 404 });
        expect(response.body).toMatchObject({ error: 'not_found', message: 'endpoint not found' });
      }
      const list = await api('GET', '/v1/endpoints?limit=100', { token: tenantB.apiKey });
      expect(list.body.data.map((e: { id: string }) => e.id)).not.toContain(endpoint.id);

      const still = await api('GET', `/v1/endpoints/${endpoint.id}`, { token: tenantA.apiKey });
      expect(still.body).toEqual(endpoint);
      const sameSecret = await api('GET', `/v1/endpoints/${endpoint.id}/secret`, { token: tenantA.apiKey });
      expect(sameSecret.body).toEqual(secret);
    });

    it('answers 404 on every route for an id that does not exist', async () => {
      for (const [method, path, body] of routes(UNKNOWN_ID)) {
        expect((await api(method, path, { token: tenantA.apiKey, body })).status).toBe(404);
      }
    });

    it.each([
      ['no token', undefined],
      ['an unknown API key', `hs_${'B'.repeat(43)}`],
      ['the admin token', ADMIN_TOKEN],
    ])('answers 401 on every route with %s', async (_label, token) => {
      const endpoint = await createEndpoint(tenantA);
      const all: Array<[string, string, unknown?]> = [
        ['POST', '/v1/endpoints', { url: PUBLIC_URL }],
        ['GET', '/v1/endpoints'],
        ...routes(endpoint.id),
      ];
      for (const [method, path, body] of all) {
        const response = await api(method, path, { token, body });
        expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 });
        expect(response.body.error).toBe('unauthorized');
      }
    });
  });

  it('documents every endpoint route and DTO in /docs-json', async () => {
    const response = await api('GET', '/docs-json');
    expect(response.status).toBe(200);
    const paths = response.body.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths['/v1/endpoints']).sort()).toEqual(['get', 'post']);
    expect(Object.keys(paths['/v1/endpoints/{id}']).sort()).toEqual(['delete', 'get', 'patch']);
    expect(paths['/v1/endpoints/{id}/secret']).toHaveProperty('get');
    expect(paths['/v1/endpoints/{id}/secret/rotate']).toHaveProperty('post');
    expect(paths['/v1/tenants']).toHaveProperty('post');
    expect(paths['/v1/tenants/{id}/keys']).toHaveProperty('post');
    expect(paths['/v1/tenants/{id}/keys/{keyId}']).toHaveProperty('delete');
    const schemas = response.body.components.schemas;
    expect(Object.keys(schemas.CreateEndpointDto.properties).sort()).toEqual(
      [
        'url',
        'description',
        'eventTypes',
        'ordering',
        'enabled',
        'headers',
        'maxConcurrency',
        'metadata',
        'secret',
      ].sort(),
    );
    expect(schemas.CreateEndpointDto.required).toEqual(['url']);
    expect(schemas.EndpointDto.properties).not.toHaveProperty('secret');
    expect(schemas).toHaveProperty('EndpointPageDto');
    expect(schemas).toHaveProperty('RotateSecretDto');
  });
});

describe('endpoints API with loopback allowlisted and HTTPS enforced', () => {
  let database: TestDatabase;
  let service: InProcessApp;
  let api: ApiCall;
  let tenant: Tenant;

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startApp({
      DATABASE_URL: database.url,
      HOOKSTREAM_EGRESS_ALLOWLIST: '127.0.0.0/8,::1/128',
      HOOKSTREAM_HTTPS_ONLY: 'true',
    });
    api = apiClient(service.url);
    const created = await api('POST', '/v1/tenants', { token: ADMIN_TOKEN, body: { name: 'dev' } });
    tenant = created.body;
  });

  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  it.each(['https://127.0.0.1:8443/hook', 'https://0x7f.1:8443/hook', 'https://[::1]:8443/hook'])(
    'accepts the allowlisted %s',
    async (url) => {
      const response = await api('POST', '/v1/endpoints', { token: tenant.apiKey, body: { url } });
      expect(response.status).toBe(201);
      expect(response.body.url).toBe(url);
    },
  );

  it('still refuses addresses outside the allowlist, and plain http', async () => {
    const privateUrl = await api('POST', '/v1/endpoints', {
      token: tenant.apiKey,
      body: { url: 'https://10.0.0.1/' },
    });
    expect(privateUrl.status).toBe(400);
    const plain = await api('POST', '/v1/endpoints', {
      token: tenant.apiKey,
      body: { url: 'http://127.0.0.1/' },
    });
    expect(plain.status).toBe(400);
    expect(plain.body.details).toEqual(['url must use https']);
  });
});
