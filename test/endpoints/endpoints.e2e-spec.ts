import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/wait';
import { apiClient, startApp, type ApiCall, type InProcessApp } from '../support/app';
import { EndpointDirectory } from '../../src/endpoints/endpoint-directory';
import { EndpointHealthRepository } from '../../src/endpoints/endpoint-health.repository';
import { LaneHangsRepository } from '../../src/delivery/lane-hangs.repository';
import { isValidSecret } from '../../src/endpoints/secrets/secret-cipher';
import { endpointCalls, PUBLIC_URL, UNKNOWN_ID, type Tenant } from './endpoint-calls';

/** A cursor shaped like the ones the API issues, holding `date` and a valid id. */
const forgedCursor = (date: string): string =>
  Buffer.from(JSON.stringify([date, UNKNOWN_ID])).toString('base64url');

/** What the endpoints API does with valid requests; endpoint-refusals.e2e-spec.ts has what it refuses. */
describe('endpoints API (real PostgreSQL, loopback not allowlisted)', () => {
  let database: TestDatabase;
  let service: InProcessApp;
  let api: ApiCall;
  let tenantA: Tenant;

  const { newTenant, createEndpoint } = endpointCalls(() => api);

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startApp({ DATABASE_URL: database.url, HOOKSTREAM_EGRESS_ALLOWLIST: '' });
    api = apiClient(service.url);
    tenantA = await newTenant('A');
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
        problem: null,
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
      // Header values are write-only (issue 19): reads show the names with a mask.
      expect(created).toMatchObject({ ...body, headers: { 'X-Api-Key': '***', Authorization: '***' } });

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

    it('strict takes maxConcurrency 1 unless asked for more, which orders per key', async () => {
      const strict = await createEndpoint(tenantA, { ordering: 'strict' });
      expect(strict).toMatchObject({ ordering: 'strict', maxConcurrency: 1 });
      const perKey = await createEndpoint(tenantA, { ordering: 'strict', maxConcurrency: 50 });
      expect(perKey).toMatchObject({ ordering: 'strict', maxConcurrency: 50 });
      const none = await createEndpoint(tenantA);
      const patched = await api('PATCH', `/v1/endpoints/${none.id}`, {
        token: tenantA.apiKey,
        body: { ordering: 'strict' },
      });
      expect(patched.body).toMatchObject({ ordering: 'strict', maxConcurrency: 1 });

      // Turning a concurrent endpoint strict must say which strict it means.
      const wide = await createEndpoint(tenantA, { maxConcurrency: 4 });
      const refused = await api('PATCH', `/v1/endpoints/${wide.id}`, {
        token: tenantA.apiKey,
        body: { ordering: 'strict' },
      });
      expect(refused.status).toBe(400);
      expect((refused.body as { details: string[] }).details.join(' ')).toContain('send "maxConcurrency": 1');
      const keyed = await api('PATCH', `/v1/endpoints/${wide.id}`, {
        token: tenantA.apiKey,
        body: { ordering: 'strict', maxConcurrency: 4 },
      });
      expect(keyed.body).toMatchObject({ ordering: 'strict', maxConcurrency: 4 });
    });

    it('waits (409, Retry-After) to make an endpoint strict again until its earlier strict deliveries are handed on', async () => {
      const endpoint = await createEndpoint(tenantA, { ordering: 'strict' });
      const patch = (body: Record<string, unknown>) =>
        api('PATCH', `/v1/endpoints/${endpoint.id}`, { token: tenantA.apiKey, body });
      expect((await patch({ ordering: 'none' })).status).toBe(200);
      // A block left from the strict era: the recovery has not lifted it yet.
      const ds = await database.connect();
      await ds.query(
        `INSERT INTO endpoint_blocks (endpoint_id, delivery_id, ordering_key) VALUES ($1, gen_random_uuid(), '')`,
        [endpoint.id],
      );
      const refused = await patch({ ordering: 'strict' });
      expect(refused.status).toBe(409);
      expect(refused.headers.get('retry-after')).toBe('10');
      expect((refused.body as { details: string[] }).details[0]).toContain('1 blocks and parked deliveries');
      await ds.query('DELETE FROM endpoint_blocks WHERE endpoint_id = $1', [endpoint.id]);
      expect((await patch({ ordering: 'strict' })).body).toMatchObject({ ordering: 'strict' });
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

    it("lists the circuits still open for other processes' fan-outs, with when each stops being open", async () => {
      const [open, lapsed, closed] = [
        await createEndpoint(tenantA),
        await createEndpoint(tenantA),
        await createEndpoint(tenantA),
      ];
      const health = service.app.get(EndpointHealthRepository);
      const nowMs = Date.now();
      const streak = { consecutiveFailures: 10, failingSinceMs: nowMs - 60_000, lastFailureAtMs: nowMs };
      await health.save(
        [
          { endpointId: open.id, ...streak, openedAtMs: nowMs - 1_000 },
          { endpointId: lapsed.id, ...streak, openedAtMs: nowMs - 31_000 },
          { endpointId: closed.id, ...streak, openedAtMs: null },
        ],
        [],
      );
      try {
        const circuits = await health.openCircuits(30_000);
        expect(circuits.get(open.id)).toBe(nowMs - 1_000 + 30_000);
        expect(circuits.has(lapsed.id)).toBe(false);
        expect(circuits.has(closed.id)).toBe(false);
      } finally {
        await health.save([], [open.id, lapsed.id, closed.id]);
      }
      expect((await health.openCircuits(30_000)).has(open.id)).toBe(false);
    });

    it("lists the lanes their owners vouch are hanging, for other processes' fan-outs, until the vouch lapses", async () => {
      const [hanging, lapsing, deleted] = [
        await createEndpoint(tenantA),
        await createEndpoint(tenantA),
        await createEndpoint(tenantA),
      ];
      const hangs = service.app.get(LaneHangsRepository);
      await hangs.save([hanging.id, deleted.id], 60_000, []);
      await hangs.save([lapsing.id], 1, []);
      // An endpoint deleted meanwhile gets no row, and a deleted endpoint's row goes with it.
      await hangs.save([UNKNOWN_ID], 60_000, []);
      await api('DELETE', `/v1/endpoints/${deleted.id}`, { token: tenantA.apiKey });
      try {
        await waitFor(async () => !(await hangs.hanging()).has(lapsing.id), {
          timeoutMs: 5_000,
          what: 'the 1 ms vouch to lapse',
        });
        const read = await hangs.hanging();
        expect(read.get(hanging.id)).toBeGreaterThan(55_000);
        expect(read.get(hanging.id)).toBeLessThanOrEqual(60_000);
        expect(read.has(UNKNOWN_ID)).toBe(false);
        const [{ rows }] = await service.app
          .get(DataSource)
          .query<Array<{ rows: string }>>(
            `SELECT count(*) AS rows FROM endpoint_lane_hangs WHERE endpoint_id = ANY($1::uuid[])`,
            [[deleted.id, UNKNOWN_ID]],
          );
        expect(Number(rows)).toBe(0);
      } finally {
        await hangs.save([], 0, [hanging.id, lapsing.id]);
      }
      expect((await hangs.hanging()).has(hanging.id)).toBe(false);
    });

    it('reports the circuit its owning replica stored, whichever replica answers', async () => {
      const endpoint = await createEndpoint(tenantA);
      const health = service.app.get(EndpointHealthRepository);
      const nowMs = Date.now();
      await health.save(
        [
          {
            endpointId: endpoint.id,
            consecutiveFailures: 7,
            failingSinceMs: nowMs - 60_000,
            lastFailureAtMs: nowMs,
            openedAtMs: nowMs,
          },
        ],
        [],
      );
      try {
        const read = await api('GET', `/v1/endpoints/${endpoint.id}`, { token: tenantA.apiKey });
        expect(read.body).toMatchObject({ circuitState: 'open', failureCount: 7 });
        const list = await api('GET', '/v1/endpoints', { token: tenantA.apiKey });
        const listed = (list.body.data as Array<{ id: string; circuitState: string }>).find(
          (e) => e.id === endpoint.id,
        );
        expect(listed?.circuitState).toBe('open');
      } finally {
        await health.save([], [endpoint.id]);
      }
      const after = await api('GET', `/v1/endpoints/${endpoint.id}`, { token: tenantA.apiKey });
      expect(after.body).toMatchObject({ circuitState: 'closed', failureCount: 0 });
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
        problem: null,
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
      // A date JavaScript holds and PostgreSQL cannot (before 4713 BC) was a 500 (review 8, F9).
      [`cursor=${forgedCursor('-271821-04-20T00:00:00.000Z')}`, /cursor is not valid/],
      ['offset=3', /property offset should not exist/],
    ])('refuses ?%s', async (query, problem) => {
      const response = await api('GET', `/v1/endpoints?${query}`, { token: tenantA.apiKey });
      expect(response.status).toBe(400);
      expect(response.body.details.join('\n')).toMatch(problem);
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
      const later = await directory.findForCache(endpoint.id, null, new Date(oldExpiry + 1));
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

  it('documents every endpoint route and DTO in /docs-json', async () => {
    const response = await api('GET', '/docs-json');
    expect(response.status).toBe(200);
    const paths = response.body.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths['/v1/endpoints']).sort()).toEqual(['get', 'post']);
    expect(Object.keys(paths['/v1/endpoints/{id}']).sort()).toEqual(['delete', 'get', 'patch']);
    expect(paths['/v1/endpoints/{id}/secret']).toHaveProperty('get');
    expect(paths['/v1/endpoints/{id}/secret/rotate']).toHaveProperty('post');
    const responses = (path: string, method: string) =>
      Object.keys((paths[path][method] as { responses: object }).responses).sort();
    expect(responses('/v1/endpoints', 'post')).toEqual(['201', '400', '401', '409', '429']);
    expect(responses('/v1/endpoints/{id}/secret/rotate', 'post')).toEqual([
      '200',
      '400',
      '401',
      '404',
      '429',
    ]);
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
