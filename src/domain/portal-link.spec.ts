import { createHmac } from 'node:crypto';
import { isVoided, portalLinkKey, signPortalToken, verifyPortalToken } from './portal-link';

const TENANT = '3f2a9c1e-7b4d-4e8a-9c1f-2b3d4e5f6a7b';
const KEY = portalLinkKey('root-key-0123456789-0123456789-0123');
const OTHER_KEY = portalLinkKey('another-root-key-0123456789-012345');
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const IN_15_MIN = NOW / 1000 + 900;
const HOUR = 3_600_000;
/** Claims as a link minted at NOW carries them, expiring at `expiresAtSeconds`. */
const claims = (expiresAtSeconds = IN_15_MIN) => ({ tenantId: TENANT, expiresAtSeconds, issuedAtMs: NOW });

describe('portal link tokens', () => {
  const token = signPortalToken(claims(), KEY);

  it('carry the tenant, expiry and issue time, checked by the key that signed them', () => {
    expect(token).toMatch(/^hsp_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyPortalToken(token, KEY, NOW, HOUR)).toEqual({
      ok: true,
      claims: { tenantId: TENANT, expiresAtSeconds: IN_15_MIN, issuedAtMs: NOW },
    });
  });

  it('are refused from their expiry on', () => {
    expect(verifyPortalToken(token, KEY, IN_15_MIN * 1000 - 1, HOUR).ok).toBe(true);
    expect(verifyPortalToken(token, KEY, IN_15_MIN * 1000, HOUR)).toEqual({ ok: false, reason: 'expired' });
  });

  it('are refused under another key', () => {
    expect(verifyPortalToken(token, OTHER_KEY, NOW, HOUR)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('are refused when they claim to live longer than the longest link this service mints', () => {
    const withinSkew = signPortalToken(claims(NOW / 1000 + 3600 + 60), KEY);
    expect(verifyPortalToken(withinSkew, KEY, NOW, HOUR).ok).toBe(true);
    const tenYears = signPortalToken(claims(NOW / 1000 + 10 * 365 * 86_400), KEY);
    expect(verifyPortalToken(tenYears, KEY, NOW, HOUR)).toEqual({ ok: false, reason: 'beyond_max_ttl' });
    expect(verifyPortalToken(tenYears, KEY, NOW + 10 * 365 * 86_400_000 - HOUR, HOUR).ok).toBe(true);
  });

  it('cannot be moved to another tenant or a later expiry', () => {
    const [payload, signature] = token.slice(4).split('.');
    const decoded = Buffer.from(payload, 'base64url').toString();
    const forge = (text: string) => `hsp_${Buffer.from(text).toString('base64url')}.${signature}`;
    expect(
      verifyPortalToken(forge(decoded.replace(TENANT, TENANT.replace('3f', '4f'))), KEY, NOW, HOUR).ok,
    ).toBe(false);
    expect(
      verifyPortalToken(forge(decoded.replace(`.${IN_15_MIN}.`, `.${IN_15_MIN + 3600}.`)), KEY, NOW, HOUR).ok,
    ).toBe(false);
    // Nor to a later issue time, past a void of the tenant's links.
    expect(verifyPortalToken(forge(decoded.replace(/\d+$/, String(NOW + HOUR))), KEY, NOW, HOUR).ok).toBe(
      false,
    );
  });

  it.each(['', 'hs_abc', 'hsp_', 'hsp_abc', 'hsp_a.b.c', `hsp_${'a'.repeat(300)}.b`])('refuse %p', (bad) => {
    expect(verifyPortalToken(bad, KEY, NOW, HOUR).ok).toBe(false);
  });

  it('are minted only for a tenant id that is a UUID', () => {
    expect(() => signPortalToken({ ...claims(), tenantId: 'not-a-uuid' }, KEY)).toThrow(
      'tenantId must be a UUID',
    );
  });

  it('are voided by a void of their tenant at or after their issue time, and only by one', () => {
    const link = claims();
    expect(isVoided(link, null)).toBe(false);
    expect(isVoided(link, NOW - 1)).toBe(false);
    expect(isVoided(link, NOW)).toBe(true);
    expect(isVoided(link, NOW + 1)).toBe(true);
  });

  it('take a link minted before they carried an issue time as issued as early as it can have been', () => {
    // The format of links minted before this release: tenant and expiry only, still accepted.
    const payload = Buffer.from(`${TENANT}.${IN_15_MIN}`).toString('base64url');
    const signature = createHmac('sha256', KEY).update(payload).digest('base64url');
    const check = verifyPortalToken(`hsp_${payload}.${signature}`, KEY, NOW, HOUR);
    expect(check).toEqual({
      ok: true,
      claims: { tenantId: TENANT, expiresAtSeconds: IN_15_MIN, issuedAtMs: IN_15_MIN * 1000 - HOUR - 60_000 },
    });
    // So a void made any time after it can have been minted covers it.
    expect(check.ok && isVoided(check.claims, NOW - 1)).toBe(true);
  });

  it.each(['x', '1'.repeat(16), '12.3'])('refuse an issue time of %p', (issued) => {
    const payload = Buffer.from(`${TENANT}.${IN_15_MIN}.${issued}`).toString('base64url');
    const signature = createHmac('sha256', KEY).update(payload).digest('base64url');
    expect(verifyPortalToken(`hsp_${payload}.${signature}`, KEY, NOW, HOUR)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });
});
