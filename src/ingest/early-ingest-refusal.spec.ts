import type { FastifyReply, FastifyRequest } from 'fastify';
import { Registry } from 'prom-client';
import { QuotaMetrics } from '../common/quota-metrics';
import { FakeClock, testConfig } from '../testing/fakes';
import { EarlyIngestRefusal } from './early-ingest-refusal';
import { IngestRate } from './ingest-rate';

const KNOWN_KEY = 'hs_known';
const TENANT = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';

/** What the hook did with one request: passed it on, or answered it (status, headers, body). */
interface Handled {
  passed: boolean;
  status?: number;
  headers: Record<string, string>;
  body?: { statusCode: number; error: string };
}

describe('EarlyIngestRefusal', () => {
  const config = testConfig({ HOOKSTREAM_TENANT_INGEST_RATE: '10', HOOKSTREAM_TENANT_INGEST_BURST: '2' });
  let clock: FakeClock;
  let rate: IngestRate;
  let registry: Registry;
  let refusal: EarlyIngestRefusal;

  beforeEach(() => {
    clock = new FakeClock();
    registry = new Registry();
    rate = new IngestRate(config, new QuotaMetrics(registry, config), clock);
    const keys = { lastKnownTenant: (key: string) => (key === KNOWN_KEY ? TENANT : undefined) };
    refusal = new EarlyIngestRefusal(keys, rate, clock);
  });

  const send = async (method: string, url: string, key?: string): Promise<Handled> => {
    const handled: Handled = { passed: true, headers: {} };
    const request = {
      method,
      url,
      // Fastify's router matched it: a route's pattern, as the hook reads it.
      routeOptions: { url: url.split('?')[0] },
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    } as unknown as FastifyRequest;
    const reply = {
      status(status: number) {
        handled.status = status;
        return reply;
      },
      header(name: string, value: string) {
        handled.headers[name] = value;
        return reply;
      },
      send(body: Handled['body']) {
        handled.passed = false;
        handled.body = body;
        return reply;
      },
    };
    await refusal.handle(request, reply as unknown as FastifyReply);
    return handled;
  };
  const rejections = async () =>
    (await registry.getSingleMetric('hookstream_quota_rejections_total')!.get()).values[0]?.value ?? 0;

  it('passes requests on while the tenant has tokens, taking none of them', async () => {
    for (let i = 0; i < 5; i++) expect((await send('POST', '/v1/events', KNOWN_KEY)).passed).toBe(true);
    // The publish path takes the tokens; the refusal only looked.
    expect(() => rate.take(TENANT, clock.now())).not.toThrow();
    expect(() => rate.take(TENANT, clock.now())).not.toThrow();
  });

  it('answers 429 with Retry-After, counted, once the tenant has spent its burst', async () => {
    await rate.take(TENANT, clock.now());
    await rate.take(TENANT, clock.now());
    const refused = await send('POST', '/v1/events?source=x', KNOWN_KEY);
    expect(refused).toMatchObject({ passed: false, status: 429, headers: { 'Retry-After': '1' } });
    expect(refused.body).toMatchObject({ statusCode: 429, error: 'rate_limited' });
    expect(await rejections()).toBe(1);
    clock.advance(100);
    expect((await send('POST', '/v1/events', KNOWN_KEY)).passed).toBe(true);
  });

  it('leaves unknown keys, other routes and other methods to the normal path', async () => {
    await rate.take(TENANT, clock.now());
    await rate.take(TENANT, clock.now());
    expect((await send('POST', '/v1/events', 'hs_other')).passed).toBe(true);
    expect((await send('POST', '/v1/events')).passed).toBe(true);
    expect((await send('GET', '/v1/events', KNOWN_KEY)).passed).toBe(true);
    expect((await send('POST', '/v1/endpoints', KNOWN_KEY)).passed).toBe(true);
  });

  it('refuses a batch from a tenant over its rate too, before its events are read', async () => {
    await rate.take(TENANT, clock.now());
    await rate.take(TENANT, clock.now());
    const refused = await send('POST', '/v1/events/batch', KNOWN_KEY);
    expect(refused).toMatchObject({ passed: false, status: 429, headers: { 'Retry-After': '1' } });
  });
});
