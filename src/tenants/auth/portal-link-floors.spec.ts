import { Registry } from 'prom-client';
import { FakeClock, testConfig } from '../../testing/fakes';
import { KeyRevocations } from '../key-revocations';
import type { TenantsRepository } from '../tenants.repository';
import { TenantsService } from '../tenants.service';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { PortalLinkFloors } from './portal-link-floors';
import { PortalLinks } from './portal-links';

const TENANT = '0b6c3b52-58b4-4f0e-8a0e-6a4c1c9b2d11';
const OTHER_TENANT = '7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
const TTL_MS = 30_000;

/**
 * The `tenants` table as both processes share it: each tenant's portal_links_not_before, stamped by
 * the database clock (`dbNow`), counting the floor lookups a request costs.
 */
class FakeTenants {
  lookups = 0;
  dbNow = Date.UTC(2026, 11, 2, 12, 0, 0);
  readonly floors = new Map<string, Date | null>([
    [TENANT, null],
    [OTHER_TENANT, null],
  ]);
  /** When set, lookups wait for it: a lookup in flight while a void commits. */
  gate: Promise<void> | null = null;

  async portalLinkIssueTime(tenantId: string): Promise<Date | null> {
    return this.floors.has(tenantId) ? new Date(this.dbNow) : null;
  }

  /** By uuid, so in any case, as PostgreSQL compares them. */
  async voidPortalLinks(tenantId: string): Promise<boolean> {
    const id = tenantId.toLowerCase();
    if (!this.floors.has(id)) return false;
    this.floors.set(id, new Date(this.dbNow));
    return true;
  }

  async portalLinksNotBefore(tenantId: string): Promise<Date | null | undefined> {
    this.lookups += 1;
    const floor = this.floors.get(tenantId);
    await this.gate;
    return floor;
  }
}

/** One API process: its own caches and revocation listeners over the shared tenants table. */
function apiProcess(tenants: FakeTenants, clock: FakeClock) {
  const config = testConfig({ HOOKSTREAM_API_KEY_CACHE_TTL: `${TTL_MS}ms` });
  const revocations = new KeyRevocations();
  const repository = tenants as unknown as TenantsRepository;
  const links = new PortalLinks(config, clock);
  const floors = new PortalLinkFloors(repository, revocations, config, clock);
  const authenticator = new ApiKeyAuthenticator(
    repository,
    revocations,
    links,
    floors,
    config,
    clock,
    new Registry(),
  );
  const service = new TenantsService(repository, revocations);
  const mint = async (tenantId: string) =>
    links.mint(tenantId, (await tenants.portalLinkIssueTime(tenantId)) ?? new Date(0)).token;
  return { authenticator, revocations, service, mint };
}

describe('voiding a tenant’s portal links', () => {
  let clock: FakeClock;
  let tenants: FakeTenants;

  beforeEach(() => {
    clock = new FakeClock();
    tenants = new FakeTenants();
  });

  it('refuses the links issued until the void on this process at once and on another once it hears of it', async () => {
    const a = apiProcess(tenants, clock);
    const b = apiProcess(tenants, clock);
    const link = await a.mint(TENANT);
    const otherTenantsLink = await a.mint(OTHER_TENANT);
    await expect(a.authenticator.tenantFor(link)).resolves.toBe(TENANT);
    await expect(b.authenticator.tenantFor(link)).resolves.toBe(TENANT);
    expect(b.authenticator.cachedTenantFor(link)).toBe(TENANT);

    tenants.dbNow += 1;
    await a.service.voidPortalLinks(TENANT.toUpperCase());
    expect(a.authenticator.cachedTenantFor(link)).toBeUndefined();
    await expect(a.authenticator.tenantFor(link)).resolves.toBeNull();
    // B has not heard the notice yet: its cache still trusts the link, for at most the TTL.
    expect(b.authenticator.cachedTenantFor(link)).toBe(TENANT);
    b.revocations.portalLinksVoided(TENANT); // what KeyRevocationNotices does on the trigger's NOTIFY
    expect(b.authenticator.cachedTenantFor(link)).toBeUndefined();
    await expect(b.authenticator.tenantFor(link)).resolves.toBeNull();

    // Another tenant's link, and a link minted after the void, still work on both.
    tenants.dbNow += 1;
    const after = await a.mint(TENANT);
    for (const { authenticator } of [a, b]) {
      await expect(authenticator.tenantFor(otherTenantsLink)).resolves.toBe(OTHER_TENANT);
      await expect(authenticator.tenantFor(after)).resolves.toBe(TENANT);
    }
  });

  it('refuses a link minted in the void’s own millisecond (nothing minted before a void outlives it)', async () => {
    const a = apiProcess(tenants, clock);
    const link = await a.mint(TENANT);
    await a.service.voidPortalLinks(TENANT);
    await expect(a.authenticator.tenantFor(link)).resolves.toBeNull();
  });

  it('asks PostgreSQL once per tenant per TTL, renewing a busy tenant’s floor past half of it', async () => {
    const a = apiProcess(tenants, clock);
    const link = await a.mint(TENANT);
    const answers = await Promise.all(Array.from({ length: 20 }, () => a.authenticator.tenantFor(link)));
    expect(new Set(answers)).toEqual(new Set([TENANT]));
    expect(tenants.lookups).toBe(1);
    expect(a.authenticator.cachedTenantFor(link)).toBe(TENANT);
    expect(tenants.lookups).toBe(1);

    // A void whose notice never arrives (its connection lost) is seen by the renewal.
    tenants.dbNow += 1;
    await tenants.voidPortalLinks(TENANT);
    clock.advance(TTL_MS / 2 + 1);
    expect(a.authenticator.cachedTenantFor(link)).toBe(TENANT);
    await Promise.resolve();
    await Promise.resolve();
    expect(tenants.lookups).toBe(2);
    expect(a.authenticator.cachedTenantFor(link)).toBeUndefined();
    await expect(a.authenticator.tenantFor(link)).resolves.toBeNull();
  });

  it('forgets every floor when notices may have been missed', async () => {
    const a = apiProcess(tenants, clock);
    const link = await a.mint(TENANT);
    await a.authenticator.tenantFor(link);
    tenants.dbNow += 1;
    await tenants.voidPortalLinks(TENANT); // elsewhere, while this process's notices connection was down
    a.revocations.missed();
    expect(a.authenticator.cachedTenantFor(link)).toBeUndefined();
    await expect(a.authenticator.tenantFor(link)).resolves.toBeNull();
  });

  it('does not keep, nor let a later request join, a lookup that began before a void was heard', async () => {
    const a = apiProcess(tenants, clock);
    const link = await a.mint(TENANT);
    let open!: () => void;
    tenants.gate = new Promise((resolve) => (open = resolve));
    const before = a.authenticator.tenantFor(link); // reads the floor before the void
    await Promise.resolve();
    tenants.dbNow += 1;
    await tenants.voidPortalLinks(TENANT);
    a.revocations.portalLinksVoided(TENANT);
    const after = a.authenticator.tenantFor(link);
    open();
    await expect(before).resolves.toBe(TENANT);
    await expect(after).resolves.toBeNull();
    expect(a.authenticator.cachedTenantFor(link)).toBeUndefined();
    await expect(a.authenticator.tenantFor(link)).resolves.toBeNull();
  });

  it('refuses a link of a tenant that does not exist, and answers 404 for voiding one', async () => {
    const a = apiProcess(tenants, clock);
    const link = await a.mint(TENANT);
    tenants.floors.delete(TENANT);
    await expect(a.authenticator.tenantFor(link)).resolves.toBeNull();
    await expect(a.service.voidPortalLinks(TENANT)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('leaves the tenant’s API keys to their own revocation, and its links to their own void', async () => {
    const a = apiProcess(tenants, clock);
    const link = await a.mint(TENANT);
    await a.authenticator.tenantFor(link);
    a.revocations.revoked('any-key-of-the-tenant');
    expect(a.authenticator.cachedTenantFor(link)).toBe(TENANT);
  });
});
