import { createTestDatabase, type TestDatabase } from '../support/database';
import { apiClient, startApp, type ApiCall, type InProcessApp } from '../support/app';
import { ADMIN_TOKEN } from '../support/service';
import { endpointCalls, PUBLIC_URL, UNKNOWN_ID, type Tenant } from './endpoint-calls';

/** What the endpoints API refuses: invalid fields, unsafe URLs, other tenants and bad tokens. */
describe('endpoints API (real PostgreSQL, loopback not allowlisted)', () => {
  let database: TestDatabase;
  let service: InProcessApp;
  let api: ApiCall;
  let tenantA: Tenant;
  let tenantB: Tenant;

  const { createEndpoint, newTenant } = endpointCalls(() => api);

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
      ['bad event name', { eventTypes: ['record.*.x'] }, /must be an exact type like "record.updated"/],
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

describe('endpoints API with a quota of 3 endpoints per tenant and a default maxConcurrency of 100', () => {
  let database: TestDatabase;
  let service: InProcessApp;
  let api: ApiCall;

  const { newTenant, createEndpoint } = endpointCalls(() => api);

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startApp({
      DATABASE_URL: database.url,
      HOOKSTREAM_EGRESS_ALLOWLIST: '',
      HOOKSTREAM_MAX_ENDPOINTS_PER_TENANT: '3',
      HOOKSTREAM_ENDPOINT_MAX_CONCURRENCY: '100',
    });
    api = apiClient(service.url);
  });

  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  it('lets 3 of 12 creations racing from one tenant through and refuses the rest with 409, other tenants unaffected', async () => {
    const tenant = await newTenant('racing');
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        api('POST', '/v1/endpoints', { token: tenant.apiKey, body: { url: PUBLIC_URL } }),
      ),
    );
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(3);
    const refused = answers.filter((answer) => answer.status !== 201);
    expect(refused).toHaveLength(9);
    for (const answer of refused) {
      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('quota_exceeded');
      expect(answer.body.message).toContain('HOOKSTREAM_MAX_ENDPOINTS_PER_TENANT');
    }
    const list = await api('GET', '/v1/endpoints?limit=100', { token: tenant.apiKey });
    expect(list.body.data).toHaveLength(3);
    await createEndpoint(await newTenant('other'));
  });

  it('gives new endpoints the configured maxConcurrency, one a PATCH may send back, and documents it', async () => {
    const tenant = await newTenant('defaults');
    const endpoint = await createEndpoint(tenant);
    expect(endpoint.maxConcurrency).toBe(100);
    const patched = await api('PATCH', `/v1/endpoints/${endpoint.id}`, {
      token: tenant.apiKey,
      body: { maxConcurrency: endpoint.maxConcurrency },
    });
    expect(patched.status).toBe(200);

    const schemas = (await api('GET', '/docs-json')).body.components.schemas;
    expect(schemas.CreateEndpointDto.properties.maxConcurrency).toMatchObject({ default: 100, maximum: 100 });
    expect(schemas.UpdateEndpointDto.properties.maxConcurrency).not.toHaveProperty('default');
  });
});
