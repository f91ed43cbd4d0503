/**
 * HOOKSTREAM_TRUST_PROXY decides whose failed authentications the brake counts together (decision
 * 66 moved the service to Fastify, whose `trustProxy` reads X-Forwarded-For): trusted, each
 * forwarded client has its own count; untrusted, the header is ignored and the peer is the client.
 */
import { startApp, type InProcessApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';

const LIMIT = 3;

describe('HOOKSTREAM_TRUST_PROXY and the brake on failed authentications', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  /** Statuses of wrong admin tokens sent as if forwarded for `client`, one after another. */
  async function wrongAdminTokens(service: InProcessApp, client: string, count: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      const response = await fetch(`${service.url}/v1/tenants`, {
        method: 'POST',
        headers: {
          authorization: `Bearer wrong-admin-token-${i}`,
          'content-type': 'application/json',
          'x-forwarded-for': client,
        },
        body: JSON.stringify({ name: 'nobody' }),
      });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    return statuses;
  }

  it('counts each forwarded client on its own when the proxy (loopback) is trusted', async () => {
    const service = await startApp({
      DATABASE_URL: database.url,
      HOOKSTREAM_TRUST_PROXY: 'loopback',
      HOOKSTREAM_AUTH_FAILURE_LIMIT: String(LIMIT),
    });
    try {
      expect(await wrongAdminTokens(service, '203.0.113.7', LIMIT + 1)).toEqual([401, 401, 401, 429]);
      // Another client behind the same proxy has failures of its own to spend.
      expect(await wrongAdminTokens(service, '203.0.113.8', 1)).toEqual([401]);
    } finally {
      await service.close();
    }
  });

  it('ignores X-Forwarded-For without it: every request from the peer counts together', async () => {
    const service = await startApp({
      DATABASE_URL: database.url,
      HOOKSTREAM_AUTH_FAILURE_LIMIT: String(LIMIT),
    });
    try {
      expect(await wrongAdminTokens(service, '203.0.113.7', LIMIT)).toEqual([401, 401, 401]);
      expect(await wrongAdminTokens(service, '203.0.113.8', 1)).toEqual([429]);
    } finally {
      await service.close();
    }
  });
});
