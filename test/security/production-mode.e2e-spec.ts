/**
 * Issue 19 items 4 and 6 as an operator meets them: the ops routes behind the admin token
 * (HOOKSTREAM_OPS_AUTH=admin, the production default), and NODE_ENV=production refusing to start
 * the built service with the published demo values.
 */
import { randomBytes } from 'node:crypto';
import { KNOWN_DEMO_VALUES } from '../../src/config/production';
import { startApp, type InProcessApp } from '../support/app';
import { BASE_DATABASE_URL } from '../support/database';
import { TEST_BROKERS } from '../support/kafka';
import { ADMIN_TOKEN, runServiceExpectingFailure } from '../support/service';
import { statusOfTarget } from '../support/sockets';
import { startStack, stopStack, type Stack } from '../support/stack';

const [DEMO_ADMIN_TOKEN, DEMO_SECRET_KEY] = KNOWN_DEMO_VALUES;

const get = async (url: string, token?: string) => {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, text: await response.text() };
};

describe('HOOKSTREAM_OPS_AUTH=admin (issue 19 item 4)', () => {
  let service: InProcessApp;

  beforeAll(async () => {
    service = await startApp({ HOOKSTREAM_OPS_AUTH: 'admin' });
  });
  afterAll(() => service?.close());

  it('answers 401 for /metrics and the ops API without the admin token, 200 with it, and leaves the probes open', async () => {
    const url = (path: string) => `${service.url}${path}`;
    for (const path of ['/metrics', '/v1/ops/lag', '/docs-json']) {
      expect({ path, status: (await get(url(path))).status }).toEqual({ path, status: 401 });
      expect({ path, status: (await get(url(path), 'not-the-admin-token')).status }).toEqual({
        path,
        status: 401,
      });
    }
    const metrics = await get(url('/metrics'), ADMIN_TOKEN);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^hookstream_in_flight_deliveries \d+$/m);
    expect((await get(url('/v1/ops/lag'), ADMIN_TOKEN)).status).toBe(200);
    for (const path of ['/healthz', '/readyz', '/dashboard']) {
      expect({ path, status: (await get(url(path))).status }).toEqual({ path, status: 200 });
    }
  });

  it('gates the route the router serves, however the request target spells it', async () => {
    // The router decodes `%6D` to `m` and reads the path out of an absolute-form target: each of
    // these is served by /metrics or /docs-json, so each needs the token as the plain path does.
    const host = new URL(service.url).host;
    const targets = ['/%6Detrics', '/%6detrics?x=1', `http://${host}/metrics`, '/%64ocs-json'];
    for (const target of targets) {
      expect({ target, status: await statusOfTarget(service.url, target) }).toEqual({ target, status: 401 });
    }
    expect(await statusOfTarget(service.url, '/%6Detrics', ADMIN_TOKEN)).toBe(200);
    expect(await statusOfTarget(service.url, `http://${host}/healthz`)).toBe(200);
    expect(await statusOfTarget(service.url, '/no-such-route')).toBe(404);
  });
});

describe('HOOKSTREAM_OPS_AUTH=admin under the failure brake', () => {
  let service: InProcessApp;

  beforeAll(async () => {
    service = await startApp({ HOOKSTREAM_OPS_AUTH: 'admin', HOOKSTREAM_AUTH_FAILURE_LIMIT: '3' });
  });
  afterAll(() => service?.close());

  it('counts wrong tokens on /metrics like any admin route: 429 with Retry-After past the limit, the right token included', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      statuses.push((await get(`${service.url}/metrics`, `guess-${attempt}`)).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const response = await fetch(`${service.url}/metrics`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    // The probes are never braked: an orchestrator on the same address still sees the service.
    expect((await get(`${service.url}/healthz`)).status).toBe(200);
  });
});

describe('NODE_ENV=production (issue 19 item 6)', () => {
  it('refuses to start the built service with the demo admin token and key, naming both variables and printing neither value', async () => {
    const { code, output } = await runServiceExpectingFailure({
      NODE_ENV: 'production',
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      DATABASE_URL: BASE_DATABASE_URL,
      HOOKSTREAM_ADMIN_TOKEN: DEMO_ADMIN_TOKEN,
      HOOKSTREAM_SECRET_KEY: DEMO_SECRET_KEY,
    });
    expect(code).toBe(78);
    expect(output).toMatch(/HOOKSTREAM_ADMIN_TOKEN: is the published demo value/);
    expect(output).toMatch(/HOOKSTREAM_SECRET_KEY: is the published demo value/);
    expect(output).not.toContain(DEMO_ADMIN_TOKEN);
    expect(output).not.toContain(DEMO_SECRET_KEY);
    // It stopped at the configuration: nothing was listening, nothing connected.
    expect(output).not.toMatch(/hookstream ready/);
  });

  describe('with generated credentials', () => {
    const adminToken = randomBytes(32).toString('base64url');
    let stack: Stack | undefined;

    beforeAll(async () => {
      stack = await startStack('production', {
        NODE_ENV: 'production',
        HOOKSTREAM_ROLES: 'api',
        HOOKSTREAM_ADMIN_TOKEN: adminToken,
        HOOKSTREAM_SECRET_KEY: randomBytes(32).toString('base64'),
      });
    });
    afterAll(() => stopStack(stack));

    it('starts, and serves /metrics only with the admin token by default', async () => {
      const { url } = stack!.service;
      expect((await get(`${url}/metrics`)).status).toBe(401);
      expect((await get(`${url}/metrics`, ADMIN_TOKEN)).status).toBe(401);
      const metrics = await get(`${url}/metrics`, adminToken);
      expect(metrics.status).toBe(200);
      expect(metrics.text).toMatch(/^hookstream_in_flight_deliveries \d+$/m);
      expect((await get(`${url}/healthz`)).status).toBe(200);
      expect((await get(`${url}/readyz`)).status).toBe(200);
      expect(await stack!.service.stop()).toBe(0);
    });
  });
});
