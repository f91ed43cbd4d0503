import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Portal link tokens: a bearer credential for one tenant's REST routes that expires on its own.
 * `hsp_<base64url "tenantId.expiresAtSeconds.issuedAtMs">.<base64url HMAC-SHA256>`, keyed by a key
 * derived from HOOKSTREAM_SECRET_KEY, so no table is written per link and every replica can check one
 * (README decision 50). A link cannot be revoked one by one; all of a tenant's links issued until a
 * moment can (`portal_links_not_before`), which is what the issue time is for.
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
  /**
   * Unix milliseconds the link was minted at, by PostgreSQL's clock (the one that stamps a tenant's
   * void, so no skew between replicas decides which side of it a link falls on).
   */
  issuedAtMs: number;
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
  const text = `${claims.tenantId}.${claims.expiresAtSeconds}.${claims.issuedAtMs}`;
  const payload = Buffer.from(text, 'utf8').toString('base64url');
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
 * A token minted before links carried their issue time is taken as issued as early as it can have
 * been (its expiry less the longest lifetime and the skew), so voiding a tenant's links voids it too.
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
  const [tenantId, expires, issued, rest] = Buffer.from(payload, 'base64url').toString('utf8').split('.');
  if (!UUID.test(tenantId ?? '') || !/^\d{1,12}$/.test(expires ?? '') || rest !== undefined) {
    return { ok: false, reason: 'malformed' };
  }
  if (issued !== undefined && !/^\d{1,15}$/.test(issued)) return { ok: false, reason: 'malformed' };
  const expiresAtSeconds = Number(expires);
  if (nowMs >= expiresAtSeconds * 1000) return { ok: false, reason: 'expired' };
  if (expiresAtSeconds * 1000 > nowMs + maxLifetimeMs + CLOCK_SKEW_MS) {
    return { ok: false, reason: 'beyond_max_ttl' };
  }
  const issuedAtMs =
    issued === undefined ? expiresAtSeconds * 1000 - maxLifetimeMs - CLOCK_SKEW_MS : Number(issued);
  return { ok: true, claims: { tenantId: tenantId.toLowerCase(), expiresAtSeconds, issuedAtMs } };
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload, 'utf8').digest();
}

/**
 * Whether a tenant's void at `notBeforeMs` (its `portal_links_not_before`; null when it has none)
 * covers a link. One minted in the void's own millisecond counts as before it: nothing minted before
 * a void outlives it, at the price of a link minted within that millisecond after it.
 */
export function isVoided(claims: PortalLinkClaims, notBeforeMs: number | null): boolean {
  return notBeforeMs !== null && claims.issuedAtMs <= notBeforeMs;
}
