import { createHash } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { apiClient, startApp, type ApiCall, type InProcessApp } from '../support/app';
import { ADMIN_TOKEN } from '../support/service';
import { waitFor } from '../support/wait';

describe('tenants and API keys (admin API, real PostgreSQL)', () => {
  let database: TestDatabase;
  let service: InProcessApp;
  let api: ApiCall;

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startApp({ DATABASE_URL: database.url, HOOKSTREAM_MAX_BODY_BYTES: '16KiB' });
    api = apiClient(service.url);
  });

  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  const createTenant = async (name = 'Acme') => {
    const response = await api('POST', '/v1/tenants', { token: ADMIN_TOKEN, body: { name } });
    expect(response.status).toBe(201);
    return response.body as { id: string; name: string; createdAt: string; apiKey: string; apiKeyId: string };
  };
  const listWith = (key: string) => api('GET', '/v1/endpoints', { token: key });

  it('creates a tenant with a first API key, stored only as its SHA-256 hash', async () => {
    const tenant = await createTenant('  Acme Corp  ');
    expect(tenant).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Acme Corp',
      createdAt: expect.any(String),
      apiKey: expect.stringMatching(/^hs_[A-Za-z0-9_-]{43}$/),
      apiKeyId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const ds = await database.connect();
    const rows = await ds.query('SELECT * FROM api_keys WHERE tenant_id = $1', [tenant.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].key_hash).toBe(createHash('sha256').update(tenant.apiKey).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(tenant.apiKey);
    expect(tenant.apiKey.startsWith(rows[0].prefix)).toBe(true);
    expect((await listWith(tenant.apiKey)).status).toBe(200);
  });

  it.each([
    ['no token', undefined],
    ['a wrong token', 'not-the-admin-token-at-all'],
    ['an empty bearer', ''],
  ])('refuses admin routes with %s (401 JSON)', async (_label, token) => {
    const tenant = await createTenant();
    for (const [method, path] of [
      ['POST', '/v1/tenants'],
      ['POST', `/v1/tenants/${tenant.id}/keys`],
      ['DELETE', `/v1/tenants/${tenant.id}/keys/${tenant.apiKeyId}`],
    ]) {
      const response = await api(method, path, { token, body: { name: 'x' } });
      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        statusCode: 401,
        error: 'unauthorized',
        message: expect.any(String),
        details: [],
        correlationId: expect.any(String),
      });
    }
  });

  it('does not accept a tenant API key as the admin token', async () => {
    const tenant = await createTenant();
    const response = await api('POST', '/v1/tenants', { token: tenant.apiKey, body: { name: 'x' } });
    expect(response.status).toBe(401);
  });

  it.each([
    ['missing name', {}, /name must be a string/],
    ['empty name', { name: '   ' }, /name must be 1 to 200 characters/],
    ['non-string name', { name: 42 }, /name must be a string/],
    ['too long name', { name: 'x'.repeat(201) }, /name must be 1 to 200 characters/],
    ['unknown field', { name: 'Acme', plan: 'gold' }, /property plan should not exist/],
  ])('refuses a tenant with %s', async (_label, body, problem) => {
    const response = await api('POST', '/v1/tenants', { token: ADMIN_TOKEN, body });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('bad_request');
    expect(response.body.details.join('\n')).toMatch(problem);
  });

  it('stops a key revoked through one replica on another within moments, not after its cache TTL', async () => {
    const other = await startApp({ DATABASE_URL: database.url, HOOKSTREAM_API_KEY_CACHE_TTL: '5m' });
    try {
      const tenant = await createTenant();
      const viaOther = apiClient(other.url);
      // The other replica has resolved the key, so it would trust it for five minutes on its own.
      expect((await viaOther('GET', '/v1/endpoints', { token: tenant.apiKey })).status).toBe(200);
      const revoked = await api('DELETE', `/v1/tenants/${tenant.id}/keys/${tenant.apiKeyId}`, {
        token: ADMIN_TOKEN,
      });
      expect(revoked.status).toBe(204);
      await waitFor(
        async () => (await viaOther('GET', '/v1/endpoints', { token: tenant.apiKey })).status === 401,
        {
          timeoutMs: 10_000,
          what: 'the other replica to refuse the revoked key',
        },
      );
    } finally {
      await other.close();
    }
  });

  it('issues more keys that all work, and revokes one without touching the others', async () => {
    const tenant = await createTenant();
    const added = await api('POST', `/v1/tenants/${tenant.id}/keys`, { token: ADMIN_TOKEN });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      apiKey: expect.stringMatching(/^hs_[A-Za-z0-9_-]{43}$/),
      prefix: expect.stringMatching(/^hs_.{8}$/),
      createdAt: expect.any(String),
    });
    expect(added.body.apiKey.startsWith(added.body.prefix)).toBe(true);
    expect((await listWith(added.body.apiKey)).status).toBe(200);

    const revoked = await api('DELETE', `/v1/tenants/${tenant.id}/keys/${tenant.apiKeyId}`, {
      token: ADMIN_TOKEN,
    });
    expect(revoked.status).toBe(204);
    const refused = await listWith(tenant.apiKey);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toBe('invalid or revoked API key');
    expect((await listWith(added.body.apiKey)).status).toBe(200);

    // Revoking again is harmless.
    expect(
      (await api('DELETE', `/v1/tenants/${tenant.id}/keys/${tenant.apiKeyId}`, { token: ADMIN_TOKEN }))
        .status,
    ).toBe(204);

    // Listed newest first, by id and prefix (never the key or its hash), the revoked one marked.
    const listed = await api('GET', `/v1/tenants/${tenant.id}/keys`, { token: ADMIN_TOKEN });
    expect(listed.status).toBe(200);
    expect(listed.body.keys).toEqual([
      { id: added.body.id, prefix: added.body.prefix, createdAt: added.body.createdAt, revokedAt: null },
      {
        id: tenant.apiKeyId,
        prefix: tenant.apiKey.slice(0, added.body.prefix.length),
        createdAt: expect.any(String),
        revokedAt: expect.any(String),
      },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(tenant.apiKey);
    expect((await api('GET', `/v1/tenants/${tenant.id}/keys`, { token: tenant.apiKey })).status).toBe(401);
  });

  it("answers 404 for unknown tenants and for another tenant's key", async () => {
    const a = await createTenant('A');
    const b = await createTenant('B');
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await api('POST', `/v1/tenants/${unknown}/keys`, { token: ADMIN_TOKEN })).status).toBe(404);
    expect((await api('POST', '/v1/tenants/not-a-uuid/keys', { token: ADMIN_TOKEN })).status).toBe(404);
    expect((await api('GET', `/v1/tenants/${unknown}/keys`, { token: ADMIN_TOKEN })).status).toBe(404);
    const crossed = await api('DELETE', `/v1/tenants/${a.id}/keys/${b.apiKeyId}`, { token: ADMIN_TOKEN });
    expect(crossed.status).toBe(404);
    expect(crossed.body.error).toBe('not_found');
    expect((await listWith(b.apiKey)).status).toBe(200);
    expect((await api('DELETE', `/v1/tenants/${a.id}/keys/not-a-uuid`, { token: ADMIN_TOKEN })).status).toBe(
      404,
    );
  });

  it('refuses unknown and malformed API keys on tenant routes', async () => {
    for (const token of [undefined, 'hs_unknown', `hs_${'A'.repeat(43)}`, 'Basic abc']) {
      const response = await listWith(token as string);
      expect(response.status).toBe(401);
      expect(response.body.error).toBe('unauthorized');
    }
  });

  it('answers malformed JSON with 400 and an oversized body with 413', async () => {
    const malformed = await api('POST', '/v1/tenants', { token: ADMIN_TOKEN, rawBody: '{"name": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ statusCode: 400, message: 'request body is not valid JSON' });
    const huge = await api('POST', '/v1/tenants', {
      token: ADMIN_TOKEN,
      rawBody: JSON.stringify({ name: 'x'.repeat(20_000) }),
    });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ statusCode: 413, error: 'payload_too_large' });
  });
});
