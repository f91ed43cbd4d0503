import { Registry } from 'prom-client';
import { FakeClock, testConfig } from '../../testing/fakes';
import { KeyRevocations } from '../key-revocations';
import type { TenantsRepository } from '../tenants.repository';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { generateApiKey, hashApiKey } from './api-key';
import type { PortalLinkFloors } from './portal-link-floors';
import type { PortalLinks } from './portal-links';

/** api_keys by hash, counting lookups; `revoke` marks a key revoked as another replica would. */
class FakeKeys {
  lookups = 0;
  private readonly live = new Map<string, { keyId: string; tenantId: string }>();

  add(key: string, keyId: string, tenantId: string): void {
    this.live.set(hashApiKey(key), { keyId, tenantId });
  }

  revoke(key: string): void {
    this.live.delete(hashApiKey(key));
  }

  async liveKeyByHash(hash: string) {
    this.lookups += 1;
    return this.live.get(hash) ?? null;
  }
}

describe('ApiKeyAuthenticator', () => {
  const TTL_MS = 30_000;
  let clock: FakeClock;
  let keys: FakeKeys;
  let revocations: KeyRevocations;
  let authenticator: ApiKeyAuthenticator;
  const { key } = generateApiKey();

  beforeEach(() => {
    clock = new FakeClock();
    keys = new FakeKeys();
    keys.add(key, 'key-1', 'tenant-1');
    revocations = new KeyRevocations();
    authenticator = new ApiKeyAuthenticator(
      keys as unknown as TenantsRepository,
      revocations,
      { isPortalToken: () => false } as unknown as PortalLinks,
      {} as PortalLinkFloors,
      testConfig({ HOOKSTREAM_API_KEY_CACHE_TTL: `${TTL_MS}ms` }),
      clock,
      new Registry(),
    );
  });

  it('looks a key up once for a burst of requests, and serves it from memory within the TTL', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => authenticator.tenantFor(key)));
    expect(new Set(answers)).toEqual(new Set(['tenant-1']));
    expect(keys.lookups).toBe(1);
    expect(authenticator.cachedTenantFor(key)).toBe('tenant-1');
    expect(keys.lookups).toBe(1);
  });

  it('forgets a key revoked here at once', async () => {
    await authenticator.tenantFor(key);
    keys.revoke(key);
    revocations.revoked('key-1');
    expect(authenticator.cachedTenantFor(key)).toBeUndefined();
    await expect(authenticator.tenantFor(key)).resolves.toBeNull();
  });

  it('forgets every key when revocations may have been missed, and looks each up again', async () => {
    await authenticator.tenantFor(key);
    keys.revoke(key); // elsewhere, while this process's notices connection was down
    revocations.missed();
    expect(authenticator.cachedTenantFor(key)).toBeUndefined();
    await expect(authenticator.tenantFor(key)).resolves.toBeNull();
    expect(keys.lookups).toBe(2);
  });

  it('stops a key whose revocation went unheard within the TTL, renewing a busy key past half of it', async () => {
    await authenticator.tenantFor(key);
    keys.revoke(key); // elsewhere: no notice here
    clock.advance(TTL_MS / 2 + 1);
    // Past half the TTL a hit still answers, and renews in the background: which finds it revoked.
    expect(authenticator.cachedTenantFor(key)).toBe('tenant-1');
    await Promise.resolve();
    await Promise.resolve();
    expect(keys.lookups).toBe(2);
    expect(authenticator.cachedTenantFor(key)).toBeUndefined();
    clock.advance(TTL_MS);
    await expect(authenticator.tenantFor(key)).resolves.toBeNull();
  });

  it('never remembers an unknown key, so a key created a moment later works at once', async () => {
    const fresh = generateApiKey().key;
    await expect(authenticator.tenantFor(fresh)).resolves.toBeNull();
    keys.add(fresh, 'key-2', 'tenant-1');
    await expect(authenticator.tenantFor(fresh)).resolves.toBe('tenant-1');
  });

  it('knows the tenant of a key only once it has admitted that key (lastKnownTenant)', async () => {
    const other = generateApiKey().key;
    expect(authenticator.lastKnownTenant(key)).toBeUndefined();
    await expect(authenticator.tenantFor(key)).resolves.toBe('tenant-1');
    expect(authenticator.lastKnownTenant(key)).toBe('tenant-1');
    await expect(authenticator.tenantFor(other)).resolves.toBeNull();
    expect(authenticator.lastKnownTenant(other)).toBeUndefined();
  });

  it('tells keys apart when requests with different keys interleave (the last hash is reused only for its key)', async () => {
    const other = generateApiKey().key;
    keys.add(other, 'key-2', 'tenant-2');
    await authenticator.tenantFor(key);
    await authenticator.tenantFor(other);
    const answers = [key, other, other, key, key, other].map((candidate) => [
      authenticator.lastKnownTenant(candidate),
      authenticator.cachedTenantFor(candidate),
    ]);
    expect(answers).toEqual([
      ['tenant-1', 'tenant-1'],
      ['tenant-2', 'tenant-2'],
      ['tenant-2', 'tenant-2'],
      ['tenant-1', 'tenant-1'],
      ['tenant-1', 'tenant-1'],
      ['tenant-2', 'tenant-2'],
    ]);
  });
});
