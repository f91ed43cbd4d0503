import { sampleOf, scrape } from '../support/metrics';
import { startStack, stopStack, type Stack } from '../support/stack';

const REJECTIONS = 'hookstream_quota_rejections_total{quota="ingest_rate"}';

/**
 * Issue 15, the per-tenant ingest rate on the real service: past its burst a tenant is answered
 * 429 with Retry-After, counted, and the refusal comes before the body is read or validated (a
 * flood costs the other tenants as little as possible), while another tenant publishes as before.
 */
describe('POST /v1/events: the per-tenant ingest rate', () => {
  let stack: Stack | undefined;

  beforeAll(async () => {
    // A burst of 3, then one a second (the lowest rate the configuration takes).
    stack = await startStack('ingest-rate', {
      HOOKSTREAM_TENANT_INGEST_RATE: '1',
      HOOKSTREAM_TENANT_INGEST_BURST: '3',
    });
  });

  afterAll(() => stopStack(stack));

  it('answers 429 with Retry-After past the burst, before validating the body, and only to that tenant', async () => {
    const noisy = await stack!.api.createTenant('ingest-rate-noisy');
    const quiet = await stack!.api.createTenant('ingest-rate-quiet');
    const event = { type: 'rate.test', data: { n: 1 } };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await noisy.client.request('POST', '/v1/events', event)).status);
    expect(statuses).toEqual([202, 202, 202]);

    // Over its rate, a body that is not valid (no type) is refused for the rate, unread: 429, not
    // 400. A token comes back every second, so on a slow machine a pair may straddle one; a few tries.
    const pairs: Array<[number, number, string | null]> = [];
    for (let i = 0; i < 5; i++) {
      const valid = await noisy.client.request('POST', '/v1/events', event);
      const invalid = await noisy.client.request('POST', '/v1/events', { data: 'no type' });
      pairs.push([valid.status, invalid.status, invalid.headers.get('retry-after')]);
      if (valid.status === 429 && invalid.status === 429) break;
    }
    expect(pairs.at(-1)).toEqual([429, 429, '1']);
    expect(sampleOf(await scrape(stack!.service.url), REJECTIONS)).toBeGreaterThanOrEqual(2);

    // Another tenant's bucket is its own; its bad body is judged as ever.
    expect((await quiet.client.request('POST', '/v1/events', event)).status).toBe(202);
    expect((await quiet.client.request('POST', '/v1/events', { data: 'no type' })).status).toBe(400);
  });
});
