import { randomUUID } from 'node:crypto';
import type { ApiClient } from '../support/api';
import { sampleOf, scrape } from '../support/metrics';
import { startStack, stopStack, type Stack } from '../support/stack';

const REJECTIONS = 'hookstream_quota_rejections_total{quota="ingest_rate"}';

/**
 * Review 8, F6: a test event and a single dead-letter replay each produce a delivery, and neither
 * was metered, so a loop of them produced deliveries without bound. Each now takes a token of the
 * tenant's ingest rate, the bucket POST /v1/events takes from, and is answered as ingest answers
 * past it: 429, Retry-After, the same body.
 */
describe('test events and dead-letter replays: the per-tenant ingest rate', () => {
  let stack: Stack | undefined;

  beforeAll(async () => {
    // A burst of 3, then one a second (the lowest rate the configuration takes).
    stack = await startStack('metered-sends', {
      HOOKSTREAM_TENANT_INGEST_RATE: '1',
      HOOKSTREAM_TENANT_INGEST_BURST: '3',
    });
  });

  afterAll(() => stopStack(stack));

  /**
   * Sends `send` until it is answered 429 or `tries` run out; the statuses in order. A token comes
   * back every second, so on a slow machine one more may get through before the bucket is empty.
   */
  async function untilRefused(
    send: () => Promise<{ status: number; body: unknown; headers: Headers }>,
    tries: number,
  ) {
    const answers: Array<{ status: number; body: unknown; retryAfter: string | null }> = [];
    for (let n = 0; n < tries; n++) {
      const { status, body, headers } = await send();
      answers.push({ status, body, retryAfter: headers.get('retry-after') });
      if (status === 429) break;
    }
    return answers;
  }

  const testEvent = (client: ApiClient, endpointId: string) => () =>
    client.request('POST', `/v1/endpoints/${endpointId}/test`);

  it('answers 429 with Retry-After to test events past the burst, as POST /v1/events, and from the same bucket', async () => {
    const tenant = await stack!.api.createTenant('metered-test-events');
    const endpoint = await tenant.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: stack!.receiver.url('/metered-test'),
    });
    const before = sampleOf(await scrape(stack!.service.url), REJECTIONS);

    const answers = await untilRefused(testEvent(tenant.client, endpoint.id), 10);

    const accepted = answers.filter((answer) => answer.status === 202).length;
    expect(accepted).toBeGreaterThanOrEqual(3);
    expect(accepted).toBeLessThanOrEqual(5);
    const refused = answers.at(-1)!;
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('1');
    expect(refused.body).toEqual({
      statusCode: 429,
      error: 'rate_limited',
      message: 'tenant publishes more than 1 events a second (HOOKSTREAM_TENANT_INGEST_RATE)',
      details: ['tenant publishes more than 1 events a second (HOOKSTREAM_TENANT_INGEST_RATE)'],
      correlationId: expect.any(String),
    });
    expect(sampleOf(await scrape(stack!.service.url), REJECTIONS)).toBeGreaterThan(before);

    // Published events and test events spend one bucket: the tenant's publish is refused too.
    const publish = await untilRefused(
      () => tenant.client.request('POST', '/v1/events', { type: 'rate.test', data: {} }),
      3,
    );
    expect(publish.at(-1)!.status).toBe(429);
  });

  it('answers 429 with Retry-After to dead-letter replays past the burst', async () => {
    const tenant = await stack!.api.createTenant('metered-dead-letter-replays');
    // The token is taken before the dead letter is looked up, so an unknown one spends it too (404),
    // as a published event's token is spent before its body is judged.
    const answers = await untilRefused(
      () => tenant.client.request('POST', `/v1/dead-letters/${randomUUID()}/replay`),
      10,
    );

    const notFound = answers.filter((answer) => answer.status === 404).length;
    expect(notFound).toBeGreaterThanOrEqual(3);
    expect(notFound).toBeLessThanOrEqual(5);
    expect(answers.at(-1)).toMatchObject({ status: 429, retryAfter: '1', body: { error: 'rate_limited' } });
  });
});
