import type { NextFunction, Request, Response } from 'express';
import { Registry } from 'prom-client';
import { QuotaMetrics } from '../common/quota-metrics';
import { FakeClock, testConfig } from '../testing/fakes';
import { EarlyIngestRefusal } from './early-ingest-refusal';
import { IngestRate } from './ingest-rate';

const KNOWN_KEY = 'hs_known';
const TENANT = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';

/** What the middleware did with one request: passed it on, or answered it (status, headers, body). */
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
    rate = new IngestRate(config, new QuotaMetrics(registry, config));
    const keys = { lastKnownTenant: (key: string) => (key === KNOWN_KEY ? TENANT : undefined) };
    refusal = new EarlyIngestRefusal(keys, rate, clock);
  });

  const send = (method: string, path: string, key?: string): Handled => {
    const handled: Handled = { passed: false, headers: {} };
    const request = {
      method,
      path,
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    } as unknown as Request;
    const response = {
      setHeader: (name: string, value: string) => (handled.headers[name] = value),
      status: (status: number) => {
        handled.status = status;
        return { json: (body: Handled['body']) => (handled.body = body) };
      },
    } as unknown as Response;
    const next: NextFunction = () => (handled.passed = true);
    refusal.handle(request, response, next);
    return handled;
  };
  const rejections = async () =>
    (await registry.getSingleMetric('hookstream_quota_rejections_total')!.get()).values[0]?.value ?? 0;

  it('passes requests on while the tenant has tokens, taking none of them', () => {
    for (let i = 0; i < 5; i++) expect(send('POST', '/v1/events', KNOWN_KEY).passed).toBe(true);
    // The publish path takes the tokens; the refusal only looked.
    expect(() => rate.take(TENANT, clock.now())).not.toThrow();
    expect(() => rate.take(TENANT, clock.now())).not.toThrow();
  });

  it('answers 429 with Retry-After, counted, once the tenant has spent its burst', async () => {
    rate.take(TENANT, clock.now());
    rate.take(TENANT, clock.now());
    const refused = send('POST', '/v1/events', KNOWN_KEY);
    expect(refused).toMatchObject({ passed: false, status: 429, headers: { 'Retry-After': '1' } });
    expect(refused.body).toMatchObject({ statusCode: 429, error: 'rate_limited' });
    expect(await rejections()).toBe(1);
    clock.advance(100);
    expect(send('POST', '/v1/events', KNOWN_KEY).passed).toBe(true);
  });

  it('leaves unknown keys, other routes and other methods to the normal path', () => {
    rate.take(TENANT, clock.now());
    rate.take(TENANT, clock.now());
    expect(send('POST', '/v1/events', 'hs_other').passed).toBe(true);
    expect(send('POST', '/v1/events').passed).toBe(true);
    expect(send('GET', '/v1/events', KNOWN_KEY).passed).toBe(true);
    expect(send('POST', '/v1/endpoints', KNOWN_KEY).passed).toBe(true);
  });
});
