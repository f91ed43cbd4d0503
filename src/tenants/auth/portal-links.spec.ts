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

  it('mints a link for the configured 15 minutes that signs in its tenant until then', () => {
    const { token, expiresAt } = links.mint(TENANT);
    expect(expiresAt.getTime()).toBe(now + 15 * 60_000);
    expect(links.isPortalToken(token)).toBe(true);
    expect(links.tenantFor(token)).toBe(TENANT);
    now += 15 * 60_000;
    expect(links.tenantFor(token)).toBeNull();
  });

  it('refuses a link signed under a key being retired in HOOKSTREAM_SECRET_KEY_PREVIOUS', () => {
    // Whoever holds the retired key (the published demo key, a leaked one) must not sign in as any tenant.
    const expiresAtSeconds = Math.floor(now / 1000) + 60;
    const current = signPortalToken({ tenantId: TENANT, expiresAtSeconds }, portalLinkKey(CURRENT));
    const retired = signPortalToken({ tenantId: TENANT, expiresAtSeconds }, portalLinkKey(PREVIOUS));
    const stranger = signPortalToken({ tenantId: TENANT, expiresAtSeconds }, portalLinkKey('x'.repeat(40)));
    expect(links.tenantFor(current)).toBe(TENANT);
    expect(links.tenantFor(retired)).toBeNull();
    expect(links.tenantFor(stranger)).toBeNull();
  });

  it('refuses a link that would outlive HOOKSTREAM_PORTAL_LINK_MAX_TTL', () => {
    const forever = signPortalToken(
      { tenantId: TENANT, expiresAtSeconds: Math.floor(now / 1000) + 10 * 365 * 86_400 },
      portalLinkKey(CURRENT),
    );
    expect(links.tenantFor(forever)).toBeNull();
  });

  it('does not take an API key for a portal token', () => {
    expect(links.isPortalToken('hs_abcdef')).toBe(false);
  });
});
