import { ApiClient } from '../support/api';
import { SeededRandom } from '../support/seeded-random';
import type { TestReceiver } from '../support/receiver';
import { ADMIN_TOKEN, type RunningService } from '../support/service';
import { startStack, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { assertSameLiveProcess } from './live-process';
import {
  buildFuzzSet,
  documentedRoutes,
  isAdminRoute,
  isPublicRoute,
  type FuzzRequest,
  type OpenApi,
} from './rest-fuzz-set';

/**
 * A deterministic fuzz pass over every route the running service lists in /docs-json: malformed
 * and mistyped bodies, huge strings, bodies over the limit, unicode, missing and extra fields,
 * wrong tokens, wrong content types, hostile path and query parameters. No answer may be a 5xx,
 * every 4xx must carry the API's error shape, and the process must survive it all.
 */

const SEED = 0x5eed_f022;
const MAX_BODY_BYTES = 256 * 1024;
const MAX_REQUESTS = 6000;
const CONCURRENCY = 8;

type Json = any;

interface Offender {
  method: string;
  route: string;
  caseName: string;
  url: string;
  status: number | string;
  body: string;
}

interface FuzzRun {
  offenders: Offender[];
  statuses: Map<number, number>;
  outcomes: Array<{ request: FuzzRequest; status: number }>;
  elapsedMs: number;
}

/**
 * Sends the fuzz set, `concurrency` requests at a time and then the deletes in order. An offender
 * is a 5xx, a network error, or a 4xx without the API's error shape.
 */
async function sendFuzzSet(
  requests: FuzzRequest[],
  destructive: FuzzRequest[],
  concurrency: number,
): Promise<FuzzRun> {
  const offenders: Offender[] = [];
  const statuses = new Map<number, number>();
  const outcomes: Array<{ request: FuzzRequest; status: number }> = [];
  const send = async (request: FuzzRequest): Promise<void> => {
    const record = (status: number | string, body: string): void => {
      offenders.push({
        method: request.method,
        route: request.route,
        caseName: request.caseName,
        url: request.url.slice(0, 200),
        status,
        body: body.slice(0, 500),
      });
    };
    let status: number;
    let text: string;
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      record('network error', String((error as Error & { cause?: Error }).cause ?? error));
      return;
    }
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    outcomes.push({ request, status });
    if (status >= 500) return record(status, text);
    if (status >= 400) {
      let body: Json;
      try {
        body = JSON.parse(text);
      } catch {
        return record(status, `not JSON: ${text}`);
      }
      const shaped =
        body !== null &&
        typeof body === 'object' &&
        body.statusCode === status &&
        typeof body.error === 'string' &&
        typeof body.message === 'string' &&
        Array.isArray(body.details) &&
        body.details.every((d: unknown) => typeof d === 'string');
      if (!shaped) record(status, `bad error shape: ${text}`);
    }
  };
  const startedAt = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < requests.length; i = next++) await send(requests[i]);
    }),
  );
  // Deletes last and in order, so they do not take the real objects away from the other cases.
  for (const request of destructive) await send(request);
  const elapsedMs = Date.now() - startedAt;
  return { offenders, statuses, outcomes, elapsedMs };
}

describe('REST fuzz: every documented route survives hostile input', () => {
  let stack: Stack;
  let receiver: TestReceiver;
  let service: RunningService;
  let pid: number | undefined;

  beforeAll(async () => {
    stack = await startStack('rest-fuzz', {
      HOOKSTREAM_RETRY_DELAYS: '1s',
      HOOKSTREAM_MAX_BODY_BYTES: `${MAX_BODY_BYTES}`,
    });
    ({ receiver, service } = stack);
    pid = service.process.pid;
  });

  afterAll(() => stopStack(stack));

  it('answers no 5xx, only well-shaped 4xx, and stays up', async () => {
    const rng = new SeededRandom(SEED);
    const api = new ApiClient(service.url);
    const docs = await api.ok<OpenApi>('GET', '/docs-json');

    // The caller's own objects, another tenant's, and a tenant the admin routes may damage.
    const createTenant = async (name: string) => {
      const created = await api.ok<{ id: string; apiKey: string }>('POST', '/v1/tenants', { name });
      return { id: created.id, key: created.apiKey, client: api.as(created.apiKey) };
    };
    const own = await createTenant('Fuzz owner');
    const ownKey = own.key;
    const other = await createTenant('Fuzz other');
    const otherKey = other.key;
    const victim = await createTenant('Fuzz victim');
    const victimKey = await api.ok('POST', `/v1/tenants/${victim.id}/keys`);
    const revoked = await api.ok('POST', `/v1/tenants/${victim.id}/keys`);
    await api.ok('DELETE', `/v1/tenants/${victim.id}/keys/${revoked.id}`);
    const endpoint = await own.client.ok('POST', '/v1/endpoints', { url: receiver.url('/fuzz') });
    const otherEndpoint = await other.client.ok('POST', '/v1/endpoints', { url: receiver.url('/other') });

    // A real dead letter (delivery to an endpoint that always fails), if this build has them.
    receiver.respond('/always-500', { status: 500 });
    const failing = await own.client.ok('POST', '/v1/endpoints', {
      url: receiver.url('/always-500'),
      eventTypes: ['fuzz.fail'],
    });
    let deadLetterId: string = failing.id;
    let opsDeadLetterId: string = failing.id;
    if (docs.paths['/v1/dead-letters']?.get) {
      await own.client.ok('POST', '/v1/events', { type: 'fuzz.fail', data: { n: 1 } });
      const page = await waitFor(
        async () => {
          const response = await own.client.request('GET', '/v1/dead-letters');
          return response.status === 200 && response.body.data?.length > 0 ? response.body : null;
        },
        { timeoutMs: 30_000, what: 'a dead letter of the failing endpoint' },
      );
      deadLetterId = page.data[0].id;
    }
    if (docs.paths['/v1/ops/dead-letters']?.get) {
      const page = await api.ok('GET', '/v1/ops/dead-letters');
      opsDeadLetterId = page.items?.[0]?.id ?? opsDeadLetterId;
    }

    const realIdFor = (route: string, param: string): string => {
      if (param === 'keyId') return victimKey.id;
      if (route.startsWith('/v1/tenants')) return victim.id;
      if (route.startsWith('/v1/ops/dead-letters')) return opsDeadLetterId;
      if (route.startsWith('/v1/dead-letters')) return deadLetterId;
      return endpoint.id;
    };
    const validTokenFor = (route: string, method: string): string | undefined =>
      isPublicRoute(route) ? undefined : isAdminRoute(route, method) ? ADMIN_TOKEN : ownKey;

    const routes = documentedRoutes(docs);
    expect(routes.length).toBeGreaterThan(10);
    const { requests, destructive } = buildFuzzSet(
      routes,
      {
        docs,
        serviceUrl: service.url,
        receiver,
        maxBodyBytes: MAX_BODY_BYTES,
        ownKey,
        otherKey,
        revokedApiKey: revoked.apiKey,
        otherEndpointId: otherEndpoint.id,
        realIdFor,
        validTokenFor,
      },
      rng,
    );

    const total = requests.length + destructive.length;
    expect(total).toBeLessThan(MAX_REQUESTS);

    const { offenders, statuses, outcomes, elapsedMs } = await sendFuzzSet(
      requests,
      destructive,
      CONCURRENCY,
    );

    console.log(
      `rest fuzz: ${routes.length} routes, ${total} requests in ${elapsedMs} ms; statuses ${JSON.stringify(
        Object.fromEntries([...statuses.entries()].sort(([a], [b]) => a - b)),
      )}`,
    );
    expect(
      offenders.map((o) => `${o.method} ${o.route} [${o.caseName}] ${o.url} -> ${o.status}: ${o.body}`),
    ).toEqual([]);

    // The fuzz reached what it meant to: refusals come from the right layer, not by accident.
    const unexpected = (
      caseName: string,
      expected: number,
      routes = (r: FuzzRequest) => !isPublicRoute(r.route),
    ) =>
      outcomes
        .filter((o) => o.request.caseName === caseName && routes(o.request) && o.status !== expected)
        .map(
          (o) => `${o.request.method} ${o.request.route} [${caseName}] -> ${o.status}, expected ${expected}`,
        );
    expect([
      ...unexpected('auth:none', 401),
      ...unexpected('auth:bare-bearer', 401),
      ...unexpected('auth:garbage', 401),
      ...unexpected('auth:revoked-key', 401),
      ...unexpected('auth:tenant-key-on-admin', 401),
      ...unexpected('auth:admin-on-tenant', 401),
      ...unexpected('body:over-limit', 413),
      ...unexpected('body:malformed:truncated', 400),
      ...unexpected('body:top:deep-object', 400, (r) => r.takesBody),
      ...unexpected('body:top:deep-array', 400, (r) => r.takesBody),
      ...unexpected('field:name=unicode-3', 400, (r) => r.route === '/v1/tenants'),
    ]).toEqual([]);
    expect(elapsedMs).toBeLessThan(60_000);

    const health = await fetch(`${service.url}/healthz`);
    expect(health.status).toBe(200);
    assertSameLiveProcess(service, pid);
    expect(
      service.logs.filter((entry) => entry.level === 60 || /uncaught|unhandled/i.test(String(entry.msg))),
    ).toEqual([]);
  });
});
