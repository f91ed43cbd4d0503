import { contextFor } from '../../testing/http-context';
import { generateApiKey } from './api-key';
import type { ApiKeyAuthenticator } from './api-key-authenticator';
import { ApiKeyGuard } from './api-key.guard';
import { AuthBrake } from './auth-brake';
import type { AppConfig } from '../../config/config';
import { Registry } from 'prom-client';

describe('ApiKeyGuard', () => {
  const { key } = generateApiKey();
  const authenticator = {
    tenantFor: async (candidate: string) => (candidate === key ? 'tenant-1' : null),
    cachedTenantFor: () => undefined,
  } as unknown as ApiKeyAuthenticator;
  const config = { security: { authFailureLimit: 3, authFailureWindowMs: 60_000 } } as AppConfig;
  const guard = new ApiKeyGuard(authenticator, new AuthBrake(config, { now: () => 0 }, new Registry()));

  it('puts the tenant of a live key on the request', async () => {
    const { request, context } = contextFor(`Bearer ${key}`);
    await expect(guard.canActivate(context)).resolves.toBe(true);
    expect(request.tenantId).toBe('tenant-1');
  });

  it.each([undefined, 'Bearer hs_nope'])('refuses %p', async (header) => {
    const { request, context } = contextFor(header);
    await expect(guard.canActivate(context)).rejects.toMatchObject({ code: 'unauthorized' });
    expect(request.tenantId).toBeUndefined();
  });

  it('refuses with 429 and Retry-After past the failures of an address, without looking the key up', async () => {
    let lookups = 0;
    const counting = {
      tenantFor: async () => {
        lookups += 1;
        return null;
      },
      cachedTenantFor: () => undefined,
    } as unknown as ApiKeyAuthenticator;
    const braked = new ApiKeyGuard(counting, new AuthBrake(config, { now: () => 0 }, new Registry()));
    for (let i = 0; i < 10; i++) {
      const { request, context } = contextFor(`Bearer hs_wrong-${i}`);
      Object.assign(request, { ip: '198.51.100.7' });
      await braked.canActivate(context).catch(() => undefined);
    }
    expect(lookups).toBe(3);
    const { request, context } = contextFor(`Bearer ${key}`);
    Object.assign(request, { ip: '198.51.100.7' });
    await expect(braked.canActivate(context)).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfterSeconds: 60,
    });
  });

  it('admits a key resolved within the cache TTL at once, even from an address past its failures', async () => {
    const cachedKey = generateApiKey().key;
    const cachedOnly = {
      tenantFor: async () => null,
      cachedTenantFor: (candidate: string) => (candidate === cachedKey ? 'tenant-2' : undefined),
    } as unknown as ApiKeyAuthenticator;
    const braked = new ApiKeyGuard(cachedOnly, new AuthBrake(config, { now: () => 0 }, new Registry()));
    for (let i = 0; i < 5; i++) {
      const { request, context } = contextFor(`Bearer hs_wrong-${i}`);
      Object.assign(request, { ip: '198.51.100.8' });
      await braked.canActivate(context).catch(() => undefined);
    }
    const { request, context } = contextFor(`Bearer ${cachedKey}`);
    Object.assign(request, { ip: '198.51.100.8' });
    await expect(braked.canActivate(context)).resolves.toBe(true);
    expect(request.tenantId).toBe('tenant-2');
  });

  it('does not count a lookup PostgreSQL could not answer as a failed authentication', async () => {
    let down = true;
    const flaky = {
      tenantFor: async () => {
        if (down) throw new Error('Connection terminated unexpectedly');
        return 'tenant-3';
      },
      cachedTenantFor: () => undefined,
    } as unknown as ApiKeyAuthenticator;
    const braked = new ApiKeyGuard(flaky, new AuthBrake(config, { now: () => 0 }, new Registry()));
    const busyKey = generateApiKey().key;
    for (let i = 0; i < 10; i++) {
      const { request, context } = contextFor(`Bearer ${busyKey}`);
      Object.assign(request, { ip: '198.51.100.9' });
      await expect(braked.canActivate(context)).rejects.toThrow('Connection terminated');
    }
    down = false;
    const { request, context } = contextFor(`Bearer ${busyKey}`);
    Object.assign(request, { ip: '198.51.100.9' });
    await expect(braked.canActivate(context)).resolves.toBe(true);
  });
});
