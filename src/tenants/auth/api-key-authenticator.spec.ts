import { Registry } from 'prom-client';
import type { TenantsRepository } from '../tenants.repository';
import type { PortalLinks } from './portal-links';
import { generateApiKey, hashApiKey } from './api-key';
import { ApiKeyAuthenticator } from './api-key-authenticator';

describe('ApiKeyAuthenticator', () => {
  const live = generateApiKey();
  const other = generateApiKey();
  let tenantByHash: Map<string, string>;
  let lookups: number;
  let authenticator: ApiKeyAuthenticator;

  beforeEach(() => {
    tenantByHash = new Map([[live.hash, 'tenant-1']]);
    lookups = 0;
    const tenants = {
      tenantForKeyHash: async (hash: string) => {
        lookups++;
        return tenantByHash.get(hash) ?? null;
      },
    } as unknown as TenantsRepository;
    const noPortalLinks = { isPortalToken: () => false } as unknown as PortalLinks;
    authenticator = new ApiKeyAuthenticator(tenants, noPortalLinks, new Registry());
  });

  it('knows the tenant of a key only once it has admitted that key', async () => {
    expect(authenticator.lastKnownTenant(live.key)).toBeUndefined();
    await expect(authenticator.tenantFor(live.key)).resolves.toBe('tenant-1');
    expect(authenticator.lastKnownTenant(live.key)).toBe('tenant-1');
    await expect(authenticator.tenantFor(other.key)).resolves.toBeNull();
    expect(authenticator.lastKnownTenant(other.key)).toBeUndefined();
  });

  it('still asks PostgreSQL to admit a remembered key, so a revoked key is refused at once', async () => {
    await authenticator.tenantFor(live.key);
    tenantByHash.delete(hashApiKey(live.key));
    await expect(authenticator.tenantFor(live.key)).resolves.toBeNull();
    expect(lookups).toBe(2);
  });
});
