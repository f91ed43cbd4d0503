import { randomUUID } from 'node:crypto';
import { sampleOf, scrape } from '../support/metrics';
import { startStack, stopStack, type Stack } from '../support/stack';

const REJECTIONS = 'hookstream_quota_rejections_total{quota="endpoint_write_rate"}';
const BURST = 4;
const MESSAGE =
  'tenant changes its endpoints more than 1 times a second (HOOKSTREAM_TENANT_ENDPOINT_WRITE_RATE)';

/**
 * Each endpoint write (create, PATCH, DELETE, rotation) is a locked row write, a NOTIFY that every
 * replica answers with a read, and a marker on the tenant's input partition, which other tenants
 * share. A tenant's writes are held to HOOKSTREAM_TENANT_ENDPOINT_WRITE_RATE after a burst of
 * HOOKSTREAM_TENANT_ENDPOINT_WRITE_BURST; past it, 429 with Retry-After, and nothing is written.
 */
describe('endpoint writes: the per-tenant rate', () => {
  let stack: Stack | undefined;

  beforeAll(async () => {
    // A burst of 4, then one a second (the lowest rate the configuration takes).
    stack = await startStack('endpoint-write-rate', {
      HOOKSTREAM_TENANT_ENDPOINT_WRITE_RATE: '1',
      HOOKSTREAM_TENANT_ENDPOINT_WRITE_BURST: String(BURST),
    });
  });

  afterAll(() => stopStack(stack));

  it("answers 429 with Retry-After past the tenant's burst of writes, of every kind, and not another tenant's", async () => {
    const looping = await stack!.api.createTenant('endpoint-write-loop');
    const other = await stack!.api.createTenant('endpoint-write-calm');
    const before = sampleOf(await scrape(stack!.service.url), REJECTIONS);
    const endpoint = await looping.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: stack!.receiver.url('/write-rate'),
    });

    // Six of each kind, sent at once: at most the burst and what refills meanwhile (a token a second,
    // on a slow machine one more) get through, so every kind is refused at least once.
    const kinds = {
      patch: () => ['PATCH', `/v1/endpoints/${endpoint.id}`, { description: 'loop' }] as const,
      rotate: () => ['POST', `/v1/endpoints/${endpoint.id}/secret/rotate`, {}] as const,
      create: () => ['POST', '/v1/endpoints', { url: stack!.receiver.url('/write-rate-2') }] as const,
      delete: () => ['DELETE', `/v1/endpoints/${randomUUID()}`, undefined] as const,
    };
    const answers = await Promise.all(
      Object.entries(kinds).flatMap(([kind, request]) =>
        Array.from({ length: 6 }, async () => {
          const [method, path, body] = request();
          return { kind, ...(await looping.client.request(method, path, body)) };
        }),
      ),
    );
    const refused = answers.filter((answer) => answer.status === 429);
    expect(answers.length - refused.length).toBeLessThanOrEqual(BURST + 1);
    expect(new Set(refused.map((answer) => answer.kind))).toEqual(new Set(Object.keys(kinds)));
    expect(refused[0].headers.get('retry-after')).toBe('1');
    expect(refused[0].body).toEqual({
      statusCode: 429,
      error: 'rate_limited',
      message: MESSAGE,
      details: [MESSAGE],
      correlationId: expect.any(String),
    });
    expect(sampleOf(await scrape(stack!.service.url), REJECTIONS)).toBeGreaterThanOrEqual(
      before + refused.length,
    );

    // Another tenant's writes are its own: its whole burst goes through meanwhile.
    for (let i = 0; i < BURST; i++) {
      const created = await other.client.request('POST', '/v1/endpoints', {
        url: stack!.receiver.url(`/write-rate-calm/${i}`),
      });
      expect(created.status).toBe(201);
    }
  });
});
