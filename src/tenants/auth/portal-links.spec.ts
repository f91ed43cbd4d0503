import type { AppConfig } from '../../config/config';
import { portalLinkKey, signPortalToken } from '../../domain/portal-link';
import { PortalLinks } from './portal-links';

const TENANT = '0b6c3b52-58b4-4f0e-8a0e-6a4c1c9b2d11';
const CURRENT = 'current-secret-key-0123456789-0123456789';
const PREVIOUS = 'previous-secret-key-0123456789-012345678';

describe('PortalLinks', () => {
  let now = Date.UTC(2026, 11, 2, 12, 0, 0);
  const config = {
    security: { secretKeys: [CURRENT, PREVIOUS] },
    portal: { linkTtlMs: 15 * 60_000, linkMaxTtlMs: 3_600_000 },
  } as AppConfig;
  const links = new PortalLinks(config, { now: () => now });
  const tenantOf = (token: string) => links.claimsOf(token)?.tenantId ?? null;

  it('mints a link for the configured 15 minutes that signs in its tenant until then', () => {
    // The issue time is the database's, given by the caller; it may differ from this process's clock.
    const issuedAt = new Date(now - 250);
    const { token, expiresAt } = links.mint(TENANT, issuedAt);
    expect(expiresAt.getTime()).toBe(now + 15 * 60_000);
    expect(links.isPortalToken(token)).toBe(true);
    expect(links.claimsOf(token)).toEqual({
      tenantId: TENANT,
      expiresAtSeconds: (now + 15 * 60_000) / 1000,
      issuedAtMs: now - 250,
    });
    now += 15 * 60_000;
    expect(links.claimsOf(token)).toBeNull();
  });

  it('refuses a link signed under a key being retired in HOOKSTREAM_SECRET_KEY_PREVIOUS', () => {
    // Whoever holds the retired key (the published demo key, a leaked one) must not sign in as any tenant.
    const claims = { tenantId: TENANT, expiresAtSeconds: Math.floor(now / 1000) + 60, issuedAtMs: now };
    const current = signPortalToken(claims, portalLinkKey(CURRENT));
    const retired = signPortalToken(claims, portalLinkKey(PREVIOUS));
    const stranger = signPortalToken(claims, portalLinkKey('x'.repeat(40)));
    expect(tenantOf(current)).toBe(TENANT);
    expect(tenantOf(retired)).toBeNull();
    expect(tenantOf(stranger)).toBeNull();
  });

  it('refuses a link that would outlive HOOKSTREAM_PORTAL_LINK_MAX_TTL', () => {
    const forever = signPortalToken(
      { tenantId: TENANT, expiresAtSeconds: Math.floor(now / 1000) + 10 * 365 * 86_400, issuedAtMs: now },
      portalLinkKey(CURRENT),
    );
    expect(tenantOf(forever)).toBeNull();
  });

  it('does not take an API key for a portal token', () => {
    expect(links.isPortalToken('hs_abcdef')).toBe(false);
  });
});
