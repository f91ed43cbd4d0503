import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Portal link tokens: a bearer credential for one tenant's REST routes that expires on its own.
 * `hsp_<base64url "tenantId.expiresAtSeconds">.<base64url HMAC-SHA256>`, keyed by a key derived from
 * HOOKSTREAM_SECRET_KEY, so no table is written per link and every replica can check one (README
 * decision 50). The price: a link cannot be revoked one by one; it lives at most its expiry.
 */
export const PORTAL_TOKEN_PREFIX = 'hsp_';
/** A label, so the derived key signs nothing but portal links even though the root key encrypts secrets. */
const KEY_LABEL = 'hookstream portal-link v1';
const MAX_TOKEN_LENGTH = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PortalLinkClaims {
  tenantId: string;
  /** Unix seconds after which the token is refused. */
  expiresAtSeconds: number;
}

export type PortalTokenCheck =
  | { ok: true; claims: PortalLinkClaims }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'beyond_max_ttl' };

/** The signing key for portal links, derived from the root key HOOKSTREAM_SECRET_KEY. */
export function portalLinkKey(rootKey: string): Buffer {
  return createHmac('sha256', rootKey).update(KEY_LABEL, 'utf8').digest();
}

export function signPortalToken(claims: PortalLinkClaims, key: Buffer): string {
  if (!UUID.test(claims.tenantId)) throw new Error('tenantId must be a UUID');
  const payload = Buffer.from(`${claims.tenantId}.${claims.expiresAtSeconds}`, 'utf8').toString('base64url');
  return `${PORTAL_TOKEN_PREFIX}${payload}.${mac(key, payload).toString('base64url')}`;
}

/** How far a replica's clock may run behind the one that minted a link. */
const CLOCK_SKEW_MS = 60_000;

/**
 * Checks a token against `key`, the one derived from the current HOOKSTREAM_SECRET_KEY only. A key
 * kept in HOOKSTREAM_SECRET_KEY_PREVIOUS is being retired (a demo key, a leak): accepting its links
 * would let whoever holds it sign in as any tenant for as long as it stays configured. A rotation
 * costs a link holder one new link instead. A token that claims to live longer than
 * `maxLifetimeMs` (HOOKSTREAM_PORTAL_LINK_MAX_TTL) from now was not minted by this service.
 */
export function verifyPortalToken(
  token: string,
  key: Buffer,
  nowMs: number,
  maxLifetimeMs: number,
): PortalTokenCheck {
  if (!token.startsWith(PORTAL_TOKEN_PREFIX) || token.length > MAX_TOKEN_LENGTH) {
    return { ok: false, reason: 'malformed' };
  }
  const [payload, signature, extra] = token.slice(PORTAL_TOKEN_PREFIX.length).split('.');
  if (extra !== undefined || !payload || !signature) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(key, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad_signature' };
  }
  const [tenantId, expires] = Buffer.from(payload, 'base64url').toString('utf8').split('.');
  if (!UUID.test(tenantId ?? '') || !/^\d{1,12}$/.test(expires ?? ''))
    return { ok: false, reason: 'malformed' };
  const expiresAtSeconds = Number(expires);
  if (nowMs >= expiresAtSeconds * 1000) return { ok: false, reason: 'expired' };
  if (expiresAtSeconds * 1000 > nowMs + maxLifetimeMs + CLOCK_SKEW_MS) {
    return { ok: false, reason: 'beyond_max_ttl' };
  }
  return { ok: true, claims: { tenantId: tenantId.toLowerCase(), expiresAtSeconds } };
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload, 'utf8').digest();
}
